using System.CommandLine;
using System.Globalization;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.Repository;
using LoadTest.Clients;
using LoadTest.Load;
using LoadTest.Report;
using LoadTest.Stats;
using LoadTest.Tune;

namespace LoadTest.Cli;

/// <summary>
/// <c>LoadTest tune</c>: the role Triton's Model Analyzer plays. Builds the model's precision variants with the
/// model tools, starts a server over them (or uses one given with <c>--url</c>), and searches the space of
/// configs (<see cref="TunePlanner"/>) measuring each with LoadTest's sweep; writes the best config.pbtxt and its
/// model, report.html, results.csv and results.json. Exit codes: 0 a config met the constraints, 1 none did,
/// 2 the run could not start, 130/143 stopped by a signal (resume with <c>--resume</c>).
/// </summary>
public static class TuneCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model: an .onnx file, a version folder or a model folder of a repository (latest version)", Required = true };
        var name = new Option<string?>("--name") { Description = "Model name (default: the model folder's name, or the file's)" };
        var output = new Option<string>("--output-dir", "-o") { Description = "Where the state file, reports, best config and variants go", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --output-dir (same options), skipping the configs it measured" };
        var objective = new Option<string>("--objective") { Description = "throughput (most inferences/s) or p99 (lowest p99 latency)", DefaultValueFactory = _ => "throughput" };
        objective.AcceptOnlyFromAmong("throughput", "p99");
        var maxP99 = new Option<double?>("--max-p99-ms") { Description = "Constraint: p99 latency at most this many ms" };
        var minThroughput = new Option<double?>("--min-throughput") { Description = "Constraint: at least this many inferences/s" };
        var maxGpuMemory = new Option<double?>("--max-gpu-memory-mb") { Description = "Constraint: GPU memory the loaded config adds, MiB (needs a GPU accelerator)" };
        var minCosine = new Option<double>("--min-cosine") { Description = "Exclude variants whose cosine similarity mean to FP32 is below this", DefaultValueFactory = _ => 0.99 };
        var precision = new Option<string[]>("--precision") { Description = "Variants: fp32, fp16, int8, preprocess, fp16-preprocess (comma separated or repeated; first = baseline)", AllowMultipleArgumentsPerToken = true };
        var accelerator = new Option<string[]>("--accelerator") { Description = "Repeatable: cpu, cuda, tensorrt, with parameters as cuda:prefer_nhwc=1,fuse_conv_bias=1 (default: cpu; on a GPU machine cuda and cuda with NHWC and conv/bias fusion)" };
        var graphs = new Option<string[]>("--cuda-graphs") { Description = "Repeatable: off, or CUDA graph batch sizes as 1,8,max (cuda accelerator only; default off, on a GPU machine also the powers of two up to max)" };
        var instances = new Option<string?>("--instances") { Description = "Instances per device (default: the model's count, then 1 and 2)" };
        var delays = new Option<string?>("--max-queue-delay-us") { Description = "Dynamic batching max queue delays in us, off = no dynamic batching (default: the model's, then off, 0, 1000; off for a model that does not batch)" };
        var preferred = new Option<string[]>("--preferred-batch-sizes") { Description = "Repeatable: none, or preferred batch sizes as 4,8 or max (default: the model's, then none)" };
        var images = new Option<string?>("--images") { Description = "Folder of PNG images for INT8 calibration and held-out accuracy (default: generated inputs)" };
        var concurrency = new Option<string>("--concurrency") { Description = "Closed-loop levels measured per config: 1,4,16 or 1:64:x2", DefaultValueFactory = _ => "1,4,16" };
        var protocol = new Option<string>("--protocol", "-i") { Description = "grpc, grpc-stream, http or http-json", DefaultValueFactory = _ => "grpc" };
        protocol.AcceptOnlyFromAmong(InferClientFactory.Protocols);
        var batch = new Option<int>("--batch", "-b") { Description = "Rows per request", DefaultValueFactory = _ => 1 };
        var channels = new Option<int>("--channels") { Description = "gRPC channels", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed of the request data", DefaultValueFactory = _ => 1 };
        var interval = new Option<double>("--measurement-interval", "-p") { Description = "Measurement window, ms", DefaultValueFactory = _ => 5000 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds per level", DefaultValueFactory = _ => 2 };
        var duration = new Option<double?>("--duration") { Description = "Seconds per level (default: until 3 windows agree, perf_analyzer's rule)" };
        var stability = new Option<double>("--stability-percentage", "-s") { Description = "Stability tolerance, %", DefaultValueFactory = _ => 10 };
        var maxTrials = new Option<int>("--max-trials", "-r") { Description = "Most windows per level", DefaultValueFactory = _ => 10 };
        var maxConfigs = new Option<int>("--max-configs") { Description = "Most configs tried", DefaultValueFactory = _ => 30 };
        var combineTop = new Option<int>("--combine-top") { Description = "Values per dimension the combination stage crosses", DefaultValueFactory = _ => 2 };
        var url = new Option<string?>("--url") { Description = "Use this running server (HTTP address, explicit model control) instead of starting one" };
        var grpcUrl = new Option<string?>("--grpc-url") { Description = "With --url: the server's gRPC address (needed for --protocol grpc*)" };
        var serverRepository = new Option<string?>("--server-repository") { Description = "With --url: the model repository the server serves; the variants are written there" };
        var serverArg = new Option<string[]>("--server-arg") { Description = "Repeatable: an option for the started server, e.g. --server-arg=--pinned-memory-pool-byte-size=0" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress on stderr" };

        var command = new Command("tune", "Find the best server config for a model: precision variants, accelerators, instances, dynamic batching, CUDA graphs (Model Analyzer's role)");
        foreach (var o in new Option[] { model, name, output, resume, objective, maxP99, minThroughput, maxGpuMemory, minCosine, precision, accelerator, graphs, instances,
            delays, preferred, images, concurrency, protocol, batch, channels, seed, interval, warmup, duration, stability, maxTrials, maxConfigs, combineTop, url,
            grpcUrl, serverRepository, serverArg, quiet })
        {
            command.Options.Add(o);
        }
        command.SetAction(async (parse, ct) =>
        {
            TuneSettings settings;
            TuneRun run;
            QuietOnnxRuntime();
            try
            {
                var source = ModelSource.Resolve(parse.GetValue(model)!);
                var modelName = parse.GetValue(name) ?? (source.ModelFolder is { } f ? Path.GetFileName(f) : Path.GetFileNameWithoutExtension(source.ModelPath));
                if (modelName.Length == 0 || modelName.Length > 200 || modelName[0] == '.' || !modelName.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.'))
                {
                    throw new ArgumentException($"--name '{modelName}': a model name here is ASCII letters, digits, '_', '-' and '.', not starting with '.' (give --name)");
                }
                var sourceConfig = SourceConfig(source, modelName);
                var attached = parse.GetValue(url);
                var gpu = attached is null && GpuProbe.Available;
                var acceleratorTexts = parse.GetValue(accelerator) is { Length: > 0 } given ? given : gpu ? ["cuda", "cuda:fuse_conv_bias=1,prefer_nhwc=1"] : ["cpu"];
                var graphTexts = parse.GetValue(graphs) is { Length: > 0 } g ? g : acceleratorTexts.Any(a => a.StartsWith("cuda", StringComparison.Ordinal)) && sourceConfig.MaxBatchSize > 0 ? ["off", PowersOfTwoUpTo(sourceConfig.MaxBatchSize)] : ["off"];
                var defaults = SpaceOptions.Defaults(sourceConfig);
                var space = SpaceOptions.Parse(parse.GetValue(precision) is { Length: > 0 } p ? p : ["fp32,fp16,int8,preprocess,fp16-preprocess"], acceleratorTexts, graphTexts,
                    parse.GetValue(instances) ?? defaults.Instances, parse.GetValue(delays) ?? defaults.QueueDelays,
                    parse.GetValue(preferred) is { Length: > 0 } pr ? pr : defaults.Preferred, sourceConfig.MaxBatchSize);
                CheckMachine(space, attached is null);
                CheckConfigs(space, sourceConfig);
                var goal = new TuneGoal(parse.GetValue(objective) == "p99" ? TuneObjective.P99Latency : TuneObjective.Throughput,
                    Positive("--max-p99-ms", parse.GetValue(maxP99)), Positive("--min-throughput", parse.GetValue(minThroughput)),
                    Positive("--max-gpu-memory-mb", parse.GetValue(maxGpuMemory)), parse.GetValue(minCosine));
                if (goal.MaxGpuMemoryMb is not null && space.Accelerators.All(a => !a.IsGpu))
                {
                    throw new ArgumentException("--max-gpu-memory-mb: no GPU accelerator in the search space, so there is no GPU memory to constrain");
                }
                if (goal.MinCosine is < -1 or > 1)
                {
                    throw new ArgumentException("--min-cosine must be between -1 and 1");
                }
                IReadOnlyList<double> levels;
                try
                {
                    levels = LevelRange.Parse(parse.GetValue(concurrency)!);
                }
                catch (FormatException e)
                {
                    throw new ArgumentException("--concurrency: " + e.Message, e);
                }
                var seconds = parse.GetValue(duration);
                var plan = new MeasurementPlan(TimeSpan.FromSeconds(NonNegative("--warmup", parse.GetValue(warmup))),
                    TimeSpan.FromMilliseconds(Positive("--measurement-interval", parse.GetValue(interval))!.Value),
                    seconds is { } d ? TimeSpan.FromSeconds(Positive("--duration", d)!.Value) : null, 0,
                    new StabilityRule(Positive("--stability-percentage", parse.GetValue(stability))!.Value), AtLeast("--max-trials", parse.GetValue(maxTrials), 3));
                var proto = parse.GetValue(protocol)!;
                var imagesFolder = parse.GetValue(images);
                var calibration = imagesFolder is null ? SampleSelection.Generated : Path.GetFullPath(imagesFolder, Environment.CurrentDirectory);
                if (imagesFolder is not null && !Directory.Exists(calibration))
                {
                    throw new ArgumentException($"--images {calibration}: no such folder");
                }
                if (imagesFolder is not null && space.Precisions.All(x => x == "fp32"))
                {
                    throw new ArgumentException("--images: only the fp16, int8, preprocess and fp16-preprocess variants use images (calibration, held-out accuracy); --precision has none");
                }
                run = Run(parse.GetValue(output)!, parse.GetValue(resume), attached, parse.GetValue(grpcUrl), parse.GetValue(serverRepository),
                    parse.GetValue(serverArg) ?? [], proto);
                settings = new TuneSettings(source.ModelPath, modelName, space, goal,
                    new MeasureSettings(proto, levels, plan, AtLeast("--batch", parse.GetValue(batch), 1), AtLeast("--channels", parse.GetValue(channels), 1), parse.GetValue(seed)),
                    calibration, AtLeast("--max-configs", parse.GetValue(maxConfigs), 1), AtLeast("--combine-top", parse.GetValue(combineTop), 1),
                    attached is null ? "started by tune" : attached);
                if (sourceConfig.MaxBatchSize > 0 && settings.Measure.Batch > sourceConfig.MaxBatchSize)
                {
                    throw new ArgumentException($"--batch {settings.Measure.Batch} exceeds the model's max_batch_size {sourceConfig.MaxBatchSize}");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or ModelToolException or InvalidOperationException)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }

            using var console = new ConsoleProgress(Console.Error, live: !Console.IsErrorRedirected);
            IProgressSink progress = parse.GetValue(quiet) ? NoProgress.Instance : console;
            progress.Note($"tune {settings.ModelName}: {settings.Space.Expand().Count} valid configs in the full grid; measuring at most {settings.MaxConfigs} (baseline, ladder, combinations)");
            TuneOutcome outcome;
            try
            {
                outcome = await TuneRunner.RunAsync(settings, run, progress, ct);
            }
            catch (TuneSetupException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 2;
            }
            progress.Note("wrote " + string.Join(", ", outcome.Files));
            Console.Error.WriteLine("results: " + run.OutputDirectory);
            if (outcome.Report.Best is { } best)
            {
                Console.Error.WriteLine($"best: #{best.Result.Order + 1} {TuneRunner.Describe(settings.Goal, best.Result)}");
                Console.Error.WriteLine("best config: " + Path.Combine(run.OutputDirectory, "best", settings.ModelName, ModelSource.ConfigFileName));
                return 0;
            }
            Console.Error.WriteLine("FAIL no config met the constraints (see report.html for why each did not)");
            return 1;
        });
        return command;
    }

    /// <summary>ONNX Runtime's own log (stderr) at fatal only: probing for CUDA on a machine without it would print
    /// the provider's load error before tune's one-line answer; the tools' failures arrive as exceptions anyway.
    /// Must run before ONNX Runtime is first used in the process (later, the environment exists and this does nothing).</summary>
    private static void QuietOnnxRuntime()
    {
        var options = new Microsoft.ML.OnnxRuntime.EnvironmentCreationOptions { logLevel = Microsoft.ML.OnnxRuntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        try
        {
            Microsoft.ML.OnnxRuntime.OrtEnv.CreateInstanceWithOptions(ref options);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            // The environment exists already (a second command in one process): its log level stays.
        }
    }

    /// <summary>The source's config as the server would complete it: what max_batch_size the space is checked
    /// against and what every point's config starts from. Stateful and ensemble models are refused.</summary>
    private static Inference.Server.Protos.ModelConfig SourceConfig(ModelSource source, string modelName)
    {
        var signature = OnnxSignatureReader.TryRead(source.ModelPath);
        if (!signature.IsSuccess)
        {
            throw new ArgumentException($"--model: {signature.Error!.Message}");
        }
        var completed = ModelConfigAutoComplete.Complete(source.Config, signature.Value!, modelName, gpuAvailable: false);
        if (!completed.IsSuccess)
        {
            throw new ArgumentException($"--model: {completed.Error!.Message}");
        }
        var config = completed.Value!;
        if (config.SequenceBatching is not null)
        {
            throw new ArgumentException("--model: tune does not handle stateful models (sequence_batching): their load needs sequences, not independent requests");
        }
        config.Name = modelName;
        return config;
    }

    /// <summary>GPU accelerators need a GPU where the server runs: with a started server, this machine is checked now.</summary>
    private static void CheckMachine(TuneSpace space, bool local)
    {
        if (!local)
        {
            return;
        }
        foreach (var a in space.Accelerators.Where(a => a.IsGpu))
        {
            if (GpuProbe.Check(0, tensorRt: a.Name == "tensorrt") is { } missing)
            {
                throw new ArgumentException($"--accelerator {a.Text}: this machine cannot run GPU instances ({missing.Message}); use --accelerator cpu, or run tune on a GPU machine");
            }
        }
    }

    /// <summary>Every valid point's config, built on the source's, passes the server's validator and accelerator
    /// parser (a typo in an accelerator parameter is an error now, not a failed load later).</summary>
    private static void CheckConfigs(TuneSpace space, Inference.Server.Protos.ModelConfig source)
    {
        foreach (var point in space.Expand())
        {
            if (PointConfig.Validate(PointConfig.Build(source, point)) is { } invalid)
            {
                throw new ArgumentException($"config {point.Label} would not load: {invalid}");
            }
        }
    }

    private static TuneRun Run(string output, bool resume, string? url, string? grpcUrl, string? serverRepository, string[] serverArgs, string protocol)
    {
        var dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(output, Environment.CurrentDirectory));
        if (url is null)
        {
            if (grpcUrl is not null || serverRepository is not null)
            {
                throw new ArgumentException("--grpc-url and --server-repository apply with --url only (without it, tune starts its own server)");
            }
            return new TuneRun(dir, resume, null, null, null, serverArgs);
        }
        if (serverArgs.Length > 0)
        {
            throw new ArgumentException("--server-arg applies to the server tune starts, not to one given with --url");
        }
        if (serverRepository is null)
        {
            throw new ArgumentException("--url needs --server-repository: the folder the server serves, where tune writes its model variants");
        }
        if (protocol.StartsWith("grpc", StringComparison.Ordinal) && grpcUrl is null)
        {
            throw new ArgumentException($"--protocol {protocol} with --url needs --grpc-url (or use --protocol http)");
        }
        var repository = Path.GetFullPath(serverRepository, Environment.CurrentDirectory);
        if (!Directory.Exists(repository))
        {
            throw new ArgumentException($"--server-repository {repository}: no such folder");
        }
        return new TuneRun(dir, resume, Address("--url", url), grpcUrl is null ? null : Address("--grpc-url", grpcUrl), repository, []);
    }

    private static Uri Address(string option, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : throw new ArgumentException($"{option} {text}: not an http(s) address");

    private static double? Positive(string option, double? value) =>
        value is { } v && !(v > 0 && double.IsFinite(v)) ? throw new ArgumentException($"{option} must be a positive number, not {v}") : value;

    private static double NonNegative(string option, double value) =>
        value >= 0 && double.IsFinite(value) ? value : throw new ArgumentException($"{option} must be 0 or more, not {value}");

    private static int AtLeast(string option, int value, int min) =>
        value >= min ? value : throw new ArgumentException($"{option} must be at least {min}, not {value}");

    /// <summary>The default CUDA graph sizes on a GPU: 1, 2, 4, ... below max_batch_size, then max_batch_size (the
    /// dynamic batcher forms only captured sizes, so the sizes between 1 and max matter), as a --cuda-graphs value.</summary>
    public static string PowersOfTwoUpTo(int maxBatchSize)
    {
        var sizes = new List<string>();
        for (var s = 1; s < maxBatchSize; s *= 2)
        {
            sizes.Add(s.ToString(CultureInfo.InvariantCulture));
        }
        sizes.Add("max");
        return string.Join(",", sizes);
    }
}
