using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Net.Client;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Protos;
using Inference.Server.SharedMemory;

namespace Inference.Server.Cli;

/// <summary>
/// <c>Inference.Server shm-bench</c>: a gRPC client that measures one model with its input sent three ways: raw
/// (<c>raw_input_contents</c>, the tensor's bytes in every request), system shared memory (a /dev/shm object per
/// client, registered once) and CUDA shared memory (device memory per client from cudaMalloc, its cudaIpcMemHandle_t
/// registered once). Outputs come back raw in every mode, or into the same kind of region with <c>--shm-output</c>.
/// Closed loop: <c>--concurrency</c> clients each send one request at a time for <c>--seconds</c> after a warm-up.
/// Prints CSV <c>mode,batch,concurrency,requests_per_s,images_per_s,p50_ms,p99_ms,client_cpu_s</c>. Runs as its own
/// process: CUDA IPC handles cannot be opened by the process that made them.
/// </summary>
public static class SharedMemoryBenchCommand
{
    public static bool IsVerb(string[] args) => args.Length > 0 && args[0] == "shm-bench";

    public static Task<int> RunAsync(string[] args)
    {
        var url = new Option<string>("--url") { Description = "The server's gRPC address", DefaultValueFactory = _ => "http://127.0.0.1:8001" };
        var model = new Option<string>("--model") { Description = "Model name", Required = true };
        var input = new Option<string>("--input") { Description = "Input name", DefaultValueFactory = _ => "input" };
        var output = new Option<string>("--output") { Description = "Output name", DefaultValueFactory = _ => "logits" };
        var shape = new Option<string>("--shape") { Description = "One image's FP32 input shape (without the batch)", DefaultValueFactory = _ => "3,224,224" };
        var outputElements = new Option<int>("--output-elements") { Description = "FP32 elements of one image's output", DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch") { Description = "Images per request", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds", DefaultValueFactory = _ => 5 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds", DefaultValueFactory = _ => 2 };
        var mode = new Option<string>("--mode") { Description = "raw, system or cuda", DefaultValueFactory = _ => "raw" };
        var shmOutput = new Option<bool>("--shm-output") { Description = "Outputs into shared memory too (system and cuda modes)" };
        var device = new Option<int>("--device") { Description = "CUDA device of the regions", DefaultValueFactory = _ => 0 };
        var header = new Option<bool>("--header") { Description = "Print the CSV header" };
        var command = new RootCommand("gRPC throughput with inputs raw, in system or in CUDA shared memory")
            { url, model, input, output, shape, outputElements, batch, concurrency, seconds, warmup, mode, shmOutput, device, header };
        command.SetAction(parse => RunAsync(new Settings(
            parse.GetValue(url)!, parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(output)!,
            [.. parse.GetValue(shape)!.Split(',').Select(d => long.Parse(d, CultureInfo.InvariantCulture))], parse.GetValue(outputElements),
            parse.GetValue(batch), parse.GetValue(concurrency), parse.GetValue(seconds), parse.GetValue(warmup), parse.GetValue(mode)!,
            parse.GetValue(shmOutput), parse.GetValue(device), parse.GetValue(header))));
        return command.Parse(args[1..]).InvokeAsync();
    }

    private sealed record Settings(
        string Url, string Model, string Input, string Output, long[] Shape, int OutputElements, int Batch, int Concurrency,
        double Seconds, double Warmup, string Mode, bool ShmOutput, int Device, bool Header)
    {
        public int InputBytes => (int)(Batch * Shape.Aggregate(1L, (a, d) => a * d) * sizeof(float));

        public int OutputBytes => Batch * OutputElements * sizeof(float);
    }

    private static async Task<int> RunAsync(Settings s)
    {
        if (s.Mode is not ("raw" or "system" or "cuda"))
        {
            await Console.Error.WriteLineAsync($"--mode must be raw, system or cuda, not '{s.Mode}'");
            return 2;
        }
        using var channel = GrpcChannel.ForAddress(s.Url, new GrpcChannelOptions { MaxReceiveMessageSize = 256 << 20, MaxSendMessageSize = 256 << 20 });
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var clients = new List<Client>();
        try
        {
            for (var i = 0; i < s.Concurrency; i++)
            {
                clients.Add(await Client.CreateAsync(grpc, s, i));
            }
            var latencies = new List<double>[s.Concurrency];
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var warmEnd = Stopwatch.GetTimestamp() + (long)(s.Warmup * Stopwatch.Frequency);
            var end = warmEnd + (long)(s.Seconds * Stopwatch.Frequency);
            var tasks = clients.Select((c, i) => Task.Run(async () =>
            {
                var mine = latencies[i] = [];
                while (true)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    if (t0 >= end)
                    {
                        return;
                    }
                    using var reply = grpc.ModelInferAsync(c.Request, new global::Grpc.Core.CallOptions());
                    var response = await reply.ResponseAsync;
                    if (response.Outputs.Count != 1)
                    {
                        throw new InvalidOperationException("expected one output");
                    }
                    var t1 = Stopwatch.GetTimestamp();
                    if (t0 >= warmEnd && t1 <= end)
                    {
                        mine.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
                    }
                }
            })).ToArray();
            await Task.WhenAll(tasks);
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            if (all.Length == 0)
            {
                await Console.Error.WriteLineAsync("no request completed in the measured window");
                return 1;
            }
            if (clients[0].Check() is { } wrong)
            {
                await Console.Error.WriteLineAsync(wrong);
                return 1;
            }
            if (s.Header)
            {
                Console.WriteLine("mode,batch,concurrency,requests_per_s,images_per_s,p50_ms,p99_ms,client_cpu_s");
            }
            var rps = all.Length / s.Seconds;
            var mode = s.Mode + (s.ShmOutput && s.Mode != "raw" ? "+out" : "");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode},{s.Batch},{s.Concurrency},{rps:F0},{rps * s.Batch:F0},{all[all.Length / 2]:F3},{all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))]:F3},{cpu:F1}"));
            return 0;
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    /// <summary>One closed-loop client: its request and, in the shared memory modes, its regions.</summary>
    private sealed class Client : IAsyncDisposable
    {
        private readonly GRPCInferenceService.GRPCInferenceServiceClient _grpc;
        private readonly List<string> _regions = [];
        private readonly List<nint> _device = [];
        private readonly List<string> _files = [];
        private readonly Settings _s;
        private float[] _expectedFirst = [];
        private Func<float[]>? _readOutput;

        private Client(GRPCInferenceService.GRPCInferenceServiceClient grpc, Settings s)
        {
            _grpc = grpc;
            _s = s;
        }

        public ModelInferRequest Request { get; } = new();

        public static async Task<Client> CreateAsync(GRPCInferenceService.GRPCInferenceServiceClient grpc, Settings s, int index)
        {
            var c = new Client(grpc, s);
            var data = new float[s.InputBytes / sizeof(float)];
            var random = new Random(index + 1);
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = random.NextSingle();
            }
            var bytes = MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
            c.Request.ModelName = s.Model;
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = s.Input, Datatype = "FP32" };
            tensor.Shape.Add(s.Batch);
            tensor.Shape.Add(s.Shape);
            c.Request.Inputs.Add(tensor);
            var requested = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = s.Output };
            c.Request.Outputs.Add(requested);
            var tag = $"bench{Environment.ProcessId}_{index}";
            switch (s.Mode)
            {
                case "raw":
                    c.Request.RawInputContents.Add(ByteString.CopyFrom(bytes));
                    break;
                case "system":
                    Shm(tensor.Parameters, await c.SystemRegionAsync(tag + "_in", bytes, s.InputBytes), s.InputBytes);
                    if (s.ShmOutput)
                    {
                        Shm(requested.Parameters, await c.SystemRegionAsync(tag + "_out", [], s.OutputBytes), s.OutputBytes);
                    }
                    break;
                default:
                    Shm(tensor.Parameters, await c.CudaRegionAsync(tag + "_in", bytes, s.InputBytes), s.InputBytes);
                    if (s.ShmOutput)
                    {
                        Shm(requested.Parameters, await c.CudaRegionAsync(tag + "_out", [], s.OutputBytes), s.OutputBytes);
                    }
                    break;
            }
            // The reference output: the same input sent raw once.
            var reference = new ModelInferRequest { ModelName = s.Model };
            reference.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = s.Input, Datatype = "FP32", Shape = { tensor.Shape } });
            reference.RawInputContents.Add(ByteString.CopyFrom(bytes));
            var expected = await grpc.ModelInferAsync(reference, new global::Grpc.Core.CallOptions());
            c._expectedFirst = MemoryMarshal.Cast<byte, float>(expected.RawOutputContents[0].Span).ToArray();
            return c;
        }

        /// <summary>Null when the last response (raw, or read back from the output region) matches the raw reference.</summary>
        public string? Check()
        {
            var actual = _readOutput?.Invoke() ?? MemoryMarshal.Cast<byte, float>(_grpc.ModelInfer(Request).RawOutputContents[0].Span).ToArray();
            var worst = 0.0;
            for (var i = 0; i < actual.Length && i < _expectedFirst.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i] - _expectedFirst[i]));
            }
            return actual.Length == _expectedFirst.Length && worst < 1e-2
                ? null
                : $"the {_s.Mode} output differs from the raw one (largest difference {worst}, {actual.Length} vs {_expectedFirst.Length} elements)";
        }

        private static void Shm(Google.Protobuf.Collections.MapField<string, InferParameter> p, string region, int bytes)
        {
            p[Protocol.SharedMemoryTensors.RegionParameter] = new InferParameter { StringParam = region };
            p[Protocol.SharedMemoryTensors.ByteSizeParameter] = new InferParameter { Int64Param = bytes };
        }

        private async Task<string> SystemRegionAsync(string name, byte[] data, int bytes)
        {
            var path = Path.Join(SystemSharedMemoryKey.Root, name);
            await using (var f = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
            {
                f.SetLength(bytes);
                await f.WriteAsync(data);
            }
            _files.Add(path);
            await _grpc.SystemSharedMemoryRegisterAsync(new SystemSharedMemoryRegisterRequest { Name = name, Key = "/" + name, ByteSize = (ulong)bytes });
            _regions.Add(name);
            if (data.Length == 0)
            {
                _readOutput = () => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path).AsSpan(0, bytes)).ToArray();
            }
            return name;
        }

        private async Task<string> CudaRegionAsync(string name, byte[] data, int bytes)
        {
            CudaRuntime.Check(CudaRuntime.SetDevice(_s.Device), "cudaSetDevice");
            CudaRuntime.Check(CudaRuntime.Malloc(out var pointer, (nuint)bytes), "cudaMalloc");
            _device.Add(pointer);
            if (data.Length > 0)
            {
                var copied = CudaIpc.CopyToDevice(_s.Device, pointer, data);
                if (copied is not null)
                {
                    throw new InvalidOperationException(copied.Message);
                }
            }
            else
            {
                _readOutput = () =>
                {
                    var host = new float[bytes / sizeof(float)];
                    var error = CudaIpc.CopyToHost(_s.Device, MemoryMarshal.AsBytes(host.AsSpan()), pointer);
                    return error is null ? host : throw new InvalidOperationException(error.Message);
                };
            }
            CudaRuntime.Check(CudaIpc.GetMemHandle(out var handle, pointer), "cudaIpcGetMemHandle");
            await _grpc.CudaSharedMemoryRegisterAsync(new CudaSharedMemoryRegisterRequest
            {
                Name = name, RawHandle = ByteString.CopyFrom(CudaIpc.Bytes(handle)), DeviceId = _s.Device, ByteSize = (ulong)bytes,
            });
            _regions.Add(name);
            return name;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var r in _regions)
            {
                if (_s.Mode == "cuda")
                {
                    await _grpc.CudaSharedMemoryUnregisterAsync(new CudaSharedMemoryUnregisterRequest { Name = r });
                }
                else
                {
                    await _grpc.SystemSharedMemoryUnregisterAsync(new SystemSharedMemoryUnregisterRequest { Name = r });
                }
            }
            foreach (var p in _device)
            {
                CudaRuntime.Free(p);
            }
            foreach (var f in _files)
            {
                File.Delete(f);
            }
        }
    }
}
