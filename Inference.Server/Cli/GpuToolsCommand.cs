using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Repository;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Cli;

/// <summary>
/// <c>Inference.Server gpu-bench</c>: engine-only throughput of the ONNX Runtime backend's instances (the same
/// <see cref="OnnxRuntimeBackend.CreateInstance"/> and <see cref="IModelInstance.Execute"/> the scheduler uses, with
/// host requests in and host responses out, so the GPU copies are included), for a model and a config.pbtxt, at
/// several batch sizes, with N instances on one GPU running concurrently. Prints CSV:
/// <c>label,batch,instances,images_per_s,p50_ms,p99_ms,input_ms,infer_ms,cpu_cores</c> (mean gather + copy-in, and
/// run + copy-out, per execution; the process's CPU time over the wall time of the batch size's runs). <c>--split R</c> sends each batch as requests of R rows (the gather of many
/// small requests, as the dynamic batcher forms them). <c>--resident</c> measures the device-resident engine instead:
/// the same instance and bindings (and CUDA graphs) on inputs already on the GPU, no copies, as a bare ONNX Runtime
/// loop or PyTorch with device tensors measures. <c>--verify</c> first compares the GPU outputs with a CPU instance's
/// on random inputs and prints the relative L2 error.
/// </summary>
public static class GpuToolsCommand
{
    public static bool IsGpuVerb(string[] args) => args.Length > 0 && args[0] == "gpu-bench";

    public static Task<int> RunAsync(string[] args)
    {
        var model = new Option<string>("--model") { Description = "The .onnx file", Required = true };
        var configPath = new Option<string>("--config") { Description = "A config.pbtxt (inputs, max_batch_size, optimization)", Required = true };
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma separated", DefaultValueFactory = _ => "1,8,32,128,256" };
        var instances = new Option<int>("--instances") { Description = "Instances on GPU 0, each on its own thread", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds per batch size", DefaultValueFactory = _ => 3 };
        var label = new Option<string>("--label") { Description = "First CSV column", DefaultValueFactory = _ => "run" };
        var device = new Option<string>("--device") { Description = "gpu or cpu", DefaultValueFactory = _ => "gpu" };
        var verify = new Option<bool>("--verify") { Description = "Compare with a CPU instance first" };
        var header = new Option<bool>("--header") { Description = "Print the CSV header" };
        var split = new Option<int>("--split") { Description = "Rows per request (0: one request per batch)", DefaultValueFactory = _ => 0 };
        var resident = new Option<bool>("--resident") { Description = "Inputs already on the GPU: no gather, no copies" };
        var pageable = new Option<bool>("--pageable") { Description = "Request tensors in ordinary memory (gathered into the staging buffer) instead of the page-locked pool" };
        var sameThread = new Option<bool>("--same-thread") { Description = "Run one instance on the thread that created it (diagnostics)" };
        var command = new RootCommand("Engine-only throughput of ONNX Runtime instances")
            { model, configPath, batches, instances, seconds, label, device, verify, header, split, resident, sameThread, pageable };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(configPath)!,
            [.. parse.GetValue(batches)!.Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))],
            parse.GetValue(instances), parse.GetValue(seconds), parse.GetValue(label)!, parse.GetValue(device) == "cpu",
            parse.GetValue(verify), parse.GetValue(header), new MeasureMode(parse.GetValue(split), parse.GetValue(resident), parse.GetValue(sameThread), parse.GetValue(pageable))));
        return command.Parse(args[1..]).InvokeAsync();
    }

    private readonly record struct MeasureMode(int RowsPerRequest, bool Resident, bool SameThread, bool Pageable);

    private static int Run(string modelPath, string configPath, int[] batches, int instanceCount, double seconds, string label,
        bool cpu, bool verify, bool header, MeasureMode mode)
    {
        var parsed = PbtxtParser.ParseModelConfig(File.ReadAllText(configPath), configPath);
        if (!parsed.IsSuccess)
        {
            return Fail(parsed.Error!);
        }
        var config = parsed.Value!;
        var settings = OnnxSessionSettings.FromConfig(config);
        if (!settings.IsSuccess)
        {
            return Fail(settings.Error!);
        }
        var placement = cpu ? OnnxDevice.Cpu : OnnxDevice.Gpu(0);
        var loadWatch = Stopwatch.StartNew();
        var instances = new List<IModelInstance>();
        try
        {
            for (var i = 0; i < instanceCount; i++)
            {
                var created = OnnxRuntimeBackend.CreateInstance($"{config.Name}_{i}", modelPath, config, settings.Value!, placement);
                if (!created.IsSuccess)
                {
                    return Fail(created.Error!);
                }
                instances.Add(created.Value!);
            }
            var first = (OnnxRuntimeInstance)instances[0];
            Console.Error.WriteLine($"# {label}: {instanceCount} instance(s) on {placement} loaded in {loadWatch.Elapsed.TotalSeconds:F1} s; " +
                $"io-binding={first.UsesGpuIoBinding} graphs=[{string.Join(",", first.CudaGraphBatchSizes)}]");
            if (verify && Verify(modelPath, config, settings.Value!, first) is { } error)
            {
                return Fail(error);
            }
            if (header)
            {
                Console.WriteLine("label,batch,instances,images_per_s,p50_ms,p99_ms,input_ms,infer_ms,cpu_cores");
            }
            foreach (var batch in batches)
            {
                Measure(config, instances, batch, seconds, label, mode);
            }
            return 0;
        }
        finally
        {
            foreach (var i in instances)
            {
                i.Dispose();
            }
        }
    }

    private static void Measure(ModelConfig config, List<IModelInstance> instances, int batch, double seconds, string label, MeasureMode mode)
    {
        var requests = instances.Select((_, i) => SplitRequests(config, batch, mode.RowsPerRequest, seed: i + 1, mode.Pageable)).ToArray();
        var latencies = instances.Select(_ => new List<double>()).ToArray();
        var images = new long[instances.Count];
        var spans = new double[instances.Count];
        var timings = new ExecutionTimings[instances.Count];
        using var start = new Barrier(instances.Count);
        void Body(IModelInstance instance, int i)
        {
            var responses = new InferenceResponse[requests[i].Length];
            var warm = new ExecutionTimings();
            void Once(ref ExecutionTimings t, bool resident)
            {
                if (resident)
                {
                    ((OnnxRuntimeInstance)instance).ExecuteResident(batch);
                    return;
                }
                instance.Execute(requests[i], responses, ref t);
                foreach (var r in responses)
                {
                    r.Dispose();
                }
            }
            Console.Error.WriteLine($"#   thread {Environment.CurrentManagedThreadId}: preparing {instance.Name}");
            instance.PrepareOnExecutingThread();
            Console.Error.WriteLine($"#   thread {Environment.CurrentManagedThreadId}: prepared; first execution");
            Once(ref warm, resident: false); // Real inputs on the device for the resident runs too.
            for (var w = 0; w < 5; w++)
            {
                Once(ref warm, mode.Resident);
            }
            start.SignalAndWait();
            var begin = Stopwatch.GetTimestamp();
            var end = begin + (long)(seconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                var t0 = Stopwatch.GetTimestamp();
                Once(ref timings[i], mode.Resident);
                latencies[i].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                images[i] += batch;
            }
            spans[i] = Stopwatch.GetElapsedTime(begin).TotalSeconds;
        }
        var wall = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        if (mode.SameThread && instances.Count == 1)
        {
            Body(instances[0], 0);
        }
        else
        {
            var threads = instances.Select((instance, i) => new Thread(() => Body(instance, i)) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        var elapsed = wall.Elapsed.TotalSeconds;
        var cores = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / Math.Max(elapsed, 1e-9);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var measuredSeconds = spans.Max();
        var executions = Math.Max(all.Length, 1);
        var inputMs = timings.Sum(t => t.ComputeInputNs) / 1e6 / executions;
        var inferMs = timings.Sum(t => t.ComputeInferNs) / 1e6 / executions;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label},{batch},{instances.Count},{images.Sum() / Math.Max(measuredSeconds, 1e-9):F0},{Percentile(all, 0.5):F3},{Percentile(all, 0.99):F3},{inputMs:F3},{inferMs:F3},{cores:F2}"));
        Console.Error.WriteLine($"#   batch {batch}: {all.Length} executions in {elapsed:F1} s{(mode.Resident ? " (device-resident)" : "")}");
        foreach (var r in requests.SelectMany(r => r))
        {
            r.Dispose();
        }
    }

    /// <summary>A batch of <paramref name="batch"/> rows as requests of <paramref name="rowsPerRequest"/> rows (the last
    /// may hold fewer); one request when 0.</summary>
    private static InferenceRequest[] SplitRequests(ModelConfig config, int batch, int rowsPerRequest, int seed, bool pageable)
    {
        ITensorBufferPool pool = pageable ? ArrayTensorBufferPool.Instance : PageLockedBufferPool.Shared;
        var per = rowsPerRequest <= 0 ? batch : Math.Min(rowsPerRequest, batch);
        var requests = new List<InferenceRequest>();
        for (var done = 0; done < batch; done += per)
        {
            requests.Add(RandomRequest(config, Math.Min(per, batch - done), seed * 1000 + requests.Count, pool));
        }
        return [.. requests];
    }

    private static InferenceError? Verify(string modelPath, ModelConfig config, OnnxSessionSettings settings, OnnxRuntimeInstance gpu)
    {
        var cpuSettings = settings with { Accelerators = OnnxAcceleratorSettings.None };
        var created = OnnxRuntimeBackend.CreateInstance("verify_cpu", modelPath, config, cpuSettings, OnnxDevice.Cpu);
        if (!created.IsSuccess)
        {
            return created.Error;
        }
        using var cpu = created.Value!;
        // One request of 3 rows and one of 1 (ordinary memory: gathered), then 3 requests of one row each from the
        // page-locked pool (each copied to its rows of the device buffer directly).
        (string Label, InferenceRequest[] Requests)[] cases =
        [
            ("rows=3", [RandomRequest(config, 3, seed: 45, ArrayTensorBufferPool.Instance)]),
            ("rows=1", [RandomRequest(config, 1, seed: 43, ArrayTensorBufferPool.Instance)]),
            ("3 page-locked requests of 1 row", SplitRequests(config, 3, 1, seed: 44, pageable: false)),
        ];
        try
        {
            foreach (var (label, requests) in cases)
            {
                var expected = new InferenceResponse[requests.Length];
                var actual = new InferenceResponse[requests.Length];
                var timings = new ExecutionTimings();
                cpu.Execute(requests, expected, ref timings);
                gpu.Execute(requests, actual, ref timings);
                var e = expected.SelectMany(r => ToDoubles(r.Outputs[0])).ToArray();
                var a = actual.SelectMany(r => ToDoubles(r.Outputs[0])).ToArray();
                var diff = Math.Sqrt(e.Zip(a).Sum(p => (p.First - p.Second) * (p.First - p.Second)));
                var norm = Math.Sqrt(e.Sum(x => x * x));
                var bad = a.Any(double.IsNaN) || e.Length != a.Length;
                Console.Error.WriteLine($"# verify {label}: relative L2 error {diff / norm:E2} over {e.Length} values (padded rows {timings.PaddedRows}){(bad ? " NaN/size mismatch" : "")}");
                foreach (var r in expected.Concat(actual))
                {
                    r.Dispose();
                }
                if (bad || diff / norm > 5e-2)
                {
                    return new InferenceError(ErrorCode.Internal, $"GPU output differs from CPU ({label}): relative L2 error {diff / norm:E2}");
                }
            }
        }
        finally
        {
            foreach (var request in cases.SelectMany(c => c.Requests))
            {
                request.Dispose();
            }
        }
        return null;
    }

    private static double[] ToDoubles(InferTensor t) => t.DataType switch
    {
        DataType.Fp32 => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.Data.Span).ToArray().Select(x => (double)x)],
        DataType.Fp16 => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(t.Data.Span).ToArray().Select(x => (double)x)],
        _ => throw new NotSupportedException($"verify reads FP32 or FP16 outputs, not {t.DataType}"),
    };

    /// <summary>One request of <paramref name="rows"/> rows of the config's first input, uniform in [-1, 1), in a
    /// buffer from <paramref name="pool"/> (as the gRPC front-end receives it).</summary>
    private static InferenceRequest RandomRequest(ModelConfig config, int rows, int seed, ITensorBufferPool pool)
    {
        var input = config.Input[0];
        var type = (DataType)(int)input.DataType;
        long[] shape = [rows, .. input.Dims];
        var count = ShapeMath.ElementCount(shape);
        var buffer = pool.Rent(checked((int)(count * type.ElementSize())));
        var random = new Random(seed);
        switch (type)
        {
            case DataType.Fp32:
                var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(buffer.Memory.Span);
                for (var i = 0; i < f.Length; i++)
                {
                    f[i] = (float)(random.NextDouble() * 2 - 1);
                }
                break;
            case DataType.Fp16:
                var h = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(buffer.Memory.Span);
                for (var i = 0; i < h.Length; i++)
                {
                    h[i] = (Half)(random.NextDouble() * 2 - 1);
                }
                break;
            default:
                random.NextBytes(buffer.Memory.Span);
                break;
        }
        var request = new InferenceRequest { ModelName = config.Name, BatchSize = rows };
        request.Inputs.Add(new InferTensor(input.Name, type, shape, buffer.Memory, buffer));
        return request;
    }

    private static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, q * sorted.Length)];

    private static int Fail(InferenceError error)
    {
        Console.Error.WriteLine($"gpu-bench: {error.Code}: {error.Message}");
        return 1;
    }
}
