using System.CommandLine;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Conversion;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.ModelTools.Quantization;

namespace Inference.Server.Cli;

/// <summary>
/// The server's model tools, as verbs of its command line (like trtexec beside tritonserver):
/// <c>Inference.Server build-resnet50 --output m.onnx</c>. Anything else starts the server.
/// </summary>
public static class ModelToolsCommand
{
    private static readonly HashSet<string> Verbs = ["build-resnet50", "default-repository", "write-identity", "write-accumulator", "write-tiny", "write-image-sink", "convert", "quantize", "preprocess", "bench-model", "tools"];

    public static bool IsToolVerb(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("AspireInference model tools");

        var output = new Option<string>("--output", "-o") { Description = "Where to write the .onnx file", Required = true };
        var width = new Option<int>("--width") { Description = "Stem width (64 for ResNet-50)", DefaultValueFactory = _ => 64 };
        var classes = new Option<int>("--classes") { Description = "Number of classes", DefaultValueFactory = _ => 1000 };
        var imageSize = new Option<int>("--image-size") { Description = "Input height and width", DefaultValueFactory = _ => 224 };
        var seed = new Option<ulong>("--seed") { Description = "Weight seed", DefaultValueFactory = _ => ResNetOptions.ResNet50.Seed };
        var build = new Command("build-resnet50", "Write a ResNet v1.5 ONNX model (ResNet-50 by default) with seeded weights") { output, width, classes, imageSize, seed };
        build.SetAction(parse =>
        {
            var options = new ResNetOptions
            {
                BaseWidth = parse.GetValue(width), NumClasses = parse.GetValue(classes),
                ImageSize = parse.GetValue(imageSize), Seed = parse.GetValue(seed),
            };
            var info = ResNetBuilder.Write(parse.GetValue(output)!, options);
            Console.WriteLine($"wrote {parse.GetValue(output)}: {info.Summary}");
            return 0;
        });
        root.Subcommands.Add(build);

        var cache = new Option<string?>("--cache") { Description = "Cache folder (default $ASPIRE_INFERENCE_CACHE or ~/.cache/aspire-inference)" };
        var defaultRepo = new Command("default-repository", "Create the default repository (resnet50) if needed and print its path") { cache };
        defaultRepo.SetAction(parse =>
        {
            Console.WriteLine(DefaultModelRepository.EnsureCreated(parse.GetValue(cache)));
            return 0;
        });
        root.Subcommands.Add(defaultRepo);

        var repository = new Option<string>("--repository", "-r") { Description = "Model repository folder", Required = true };
        var name = new Option<string>("--name") { Description = "Model name", DefaultValueFactory = _ => "identity" };
        var tensorWidth = new Option<int>("--width") { Description = "Elements per row", DefaultValueFactory = _ => 16 };
        var maxBatch = new Option<int>("--max-batch-size") { DefaultValueFactory = _ => 64 };
        var instances = new Option<int>("--instances") { DefaultValueFactory = _ => 1 };
        var delay = new Option<int?>("--max-queue-delay-us") { Description = "Dynamic batching delay; omit for no dynamic batching" };
        var identity = new Command("write-identity", "Write an identity model (FP32 [batch,width]) and its config into a repository")
            { repository, name, tensorWidth, maxBatch, instances, delay };
        identity.SetAction(parse =>
        {
            Console.WriteLine(IdentityModelBuilder.Write(parse.GetValue(repository)!, parse.GetValue(name)!, parse.GetValue(tensorWidth),
                parse.GetValue(maxBatch), parse.GetValue(instances), parse.GetValue(delay)));
            return 0;
        });
        root.Subcommands.Add(identity);

        var accName = new Option<string>("--name") { DefaultValueFactory = _ => "accumulator" };
        var accBatch = new Option<int>("--max-batch-size") { DefaultValueFactory = _ => 8 };
        var strategy = new Option<string>("--strategy") { Description = "Sequence batching strategy: direct or oldest", DefaultValueFactory = _ => "direct" };
        var controlType = new Option<string>("--control-type") { Description = "START/END/READY type: fp32, int32 or bool", DefaultValueFactory = _ => "fp32" };
        var accumulator = new Command("write-accumulator",
            "Write a stateful accumulator model (sequence_batching with START/END/READY/CORRID controls and an implicit state) and its config")
            { repository, accName, accBatch, instances, strategy, controlType };
        accumulator.SetAction(parse =>
        {
            Console.WriteLine(AccumulatorModelBuilder.Write(parse.GetValue(repository)!, parse.GetValue(accName)!, parse.GetValue(strategy)!,
                parse.GetValue(accBatch), parse.GetValue(instances), parse.GetValue(controlType)!));
            return 0;
        });
        root.Subcommands.Add(accumulator);

        var sinkName = new Option<string>("--name") { DefaultValueFactory = _ => "image_sink" };
        var sinkBatch = new Option<int>("--max-batch-size") { DefaultValueFactory = _ => 256 };
        var sink = new Command("write-image-sink",
            "Write a model with ResNet-50's UINT8 wire shape that costs almost nothing (the server's own ceiling) and its config")
            { repository, sinkName, sinkBatch, instances };
        sink.SetAction(parse =>
        {
            Console.WriteLine(ImageSinkModelBuilder.Write(parse.GetValue(repository)!, parse.GetValue(sinkName)!,
                maxBatchSize: parse.GetValue(sinkBatch), instances: parse.GetValue(instances)));
            return 0;
        });
        root.Subcommands.Add(sink);

        var tinyName = new Option<string>("--name") { DefaultValueFactory = _ => "resnet_tiny" };
        var tiny = new Command("write-tiny", "Write the small ResNet variant (same ops, few channels) and its config into a repository") { repository, tinyName };
        tiny.SetAction(parse =>
        {
            Console.WriteLine(DefaultModelRepository.WriteSmallModel(parse.GetValue(repository)!, parse.GetValue(tinyName)!));
            return 0;
        });
        root.Subcommands.Add(tiny);

        AddModelTools(root);
        return root.Parse(args[0] == "tools" ? args[1..] : args).InvokeAsync();
    }

    /// <summary>convert, quantize, preprocess (each writes a model and an accuracy report) and bench-model.</summary>
    private static void AddModelTools(RootCommand root)
    {
        Option<string> Model() => new("--model", "-m") { Description = "Source model: an .onnx file, a version folder or a model folder (latest version)", Required = true };
        Option<string> Output() => new("--output", "-o") { Description = "An .onnx file, or a model folder (gets VERSION/model.onnx and config.pbtxt)", Required = true };
        Option<long?> Version() => new("--version") { Description = "Version folder to write in a model folder (default: highest + 1)" };
        Option<string?> Eval() => new("--eval") { Description = "Held-out inputs for the accuracy report: 'generated' or a folder of PNG images" };
        Option<int> EvalCount() => new("--eval-samples") { Description = "Generated held-out samples", DefaultValueFactory = _ => 16 };

        var model = Model();
        var output = Output();
        var version = Version();
        var eval = Eval();
        var evalCount = EvalCount();
        var fp16 = new Option<bool>("--fp16") { Description = "FP16 weights and compute, FP32 inputs/outputs", Required = true };
        var convert = new Command("convert", "Convert a model to FP16 (sensitive operators stay FP32) and report its accuracy against the source")
            { model, output, version, fp16, eval, evalCount };
        convert.SetAction(parse => Guarded(() => ConvertTool.Run(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(version),
            parse.GetValue(eval), parse.GetValue(evalCount), Console.Out)));
        root.Subcommands.Add(convert);

        var qModel = Model();
        var qOutput = Output();
        var qVersion = Version();
        var qEval = Eval();
        var qEvalCount = EvalCount();
        var int8 = new Option<bool>("--int8") { Description = "Static INT8 QDQ quantization", Required = true };
        var calibration = new Option<string>("--calibration") { Description = "'generated' or a folder of PNG images (its last quarter is held out unless --eval is given)", DefaultValueFactory = _ => "generated" };
        var calibrationCount = new Option<int>("--calibration-samples") { Description = "Generated calibration samples", DefaultValueFactory = _ => 32 };
        var method = new Option<string>("--method") { Description = "minmax | entropy | percentile", DefaultValueFactory = _ => "entropy" };
        method.AcceptOnlyFromAmong("minmax", "entropy", "percentile");
        var percentile = new Option<double>("--percentile") { Description = "Percentile of |x| kept by --method percentile", DefaultValueFactory = _ => 99.99 };
        var activations = new Option<string>("--activations")
        {
            Description = "uint8 (asymmetric, ReLU folded: fuses fully into ONNX Runtime's CPU int8 kernels) | int8 (asymmetric, ReLU folded) | int8-symmetric (TensorRT's explicit quantization form)",
            DefaultValueFactory = _ => "uint8",
        };
        activations.AcceptOnlyFromAmong("int8-symmetric", "int8", "uint8");
        var quantize = new Command("quantize", "Quantize a model to INT8 (QDQ, per-channel weights, calibrated activations) and report its accuracy")
            { qModel, qOutput, qVersion, int8, calibration, calibrationCount, method, percentile, activations, qEval, qEvalCount };
        quantize.SetAction(parse => Guarded(() =>
        {
            var options = new QuantizationOptions
            {
                Method = parse.GetValue(method) switch { "minmax" => CalibrationMethod.MinMax, "percentile" => CalibrationMethod.Percentile, _ => CalibrationMethod.Entropy },
                Percentile = parse.GetValue(percentile),
                Activations = parse.GetValue(activations) switch
                {
                    "int8" => ActivationQuantization.Int8Asymmetric,
                    "int8-symmetric" => ActivationQuantization.Int8Symmetric,
                    _ => ActivationQuantization.UInt8Asymmetric,
                },
            };
            return QuantizeTool.Run(parse.GetValue(qModel)!, parse.GetValue(qOutput)!, parse.GetValue(qVersion), parse.GetValue(calibration)!,
                parse.GetValue(qEval), parse.GetValue(calibrationCount), parse.GetValue(qEvalCount), options, Console.Out);
        }));
        root.Subcommands.Add(quantize);

        var pModel = Model();
        var pOutput = Output();
        var pVersion = Version();
        var pEval = Eval();
        var pEvalCount = EvalCount();
        var inputName = new Option<string>("--input-name") { Description = "Name of the UINT8 input", DefaultValueFactory = _ => PreprocessingBuilder.DefaultInputName };
        var mean = new Option<float[]>("--mean") { Description = "Per-channel mean (R G B) after scaling", DefaultValueFactory = _ => PixelNormalization.ImageNet.Mean, AllowMultipleArgumentsPerToken = true };
        var std = new Option<float[]>("--std") { Description = "Per-channel standard deviation (R G B) after scaling", DefaultValueFactory = _ => PixelNormalization.ImageNet.Std, AllowMultipleArgumentsPerToken = true };
        var scale = new Option<float>("--scale") { Description = "Pixel scale before normalization", DefaultValueFactory = _ => PixelNormalization.ImageNet.Scale };
        var preprocess = new Command("preprocess", "Write a variant taking UINT8 NHWC pixels, with scaling, normalization and layout in the graph")
            { pModel, pOutput, pVersion, inputName, mean, std, scale, pEval, pEvalCount };
        preprocess.SetAction(parse => Guarded(() =>
        {
            var m = parse.GetValue(mean)!;
            var s = parse.GetValue(std)!;
            if (m.Length != 3 || s.Length != 3)
            {
                throw new ModelToolException("--mean and --std take three values (R G B).");
            }
            return PreprocessTool.Run(parse.GetValue(pModel)!, parse.GetValue(pOutput)!, parse.GetValue(pVersion), parse.GetValue(inputName)!,
                new PixelNormalization(parse.GetValue(scale), m, s), parse.GetValue(pEval), parse.GetValue(pEvalCount), Console.Out);
        }));
        root.Subcommands.Add(preprocess);

        var bModel = Model();
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 8 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0: one per core)", DefaultValueFactory = _ => 0 };
        var saveOptimized = new Option<string?>("--save-optimized") { Description = "Also write the graph ONNX Runtime runs after its optimizations to this .onnx file" };
        var bench = new Command("bench-model", "Measure a model's images/s on ONNX Runtime's CPU provider (engine only)") { bModel, batch, seconds, warmup, threads, saveOptimized };
        bench.SetAction(parse => Guarded(() =>
        {
            var result = ModelBenchmark.Run(ModelSource.Resolve(parse.GetValue(bModel)!).ModelPath, parse.GetValue(batch),
                TimeSpan.FromSeconds(parse.GetValue(seconds)), TimeSpan.FromSeconds(parse.GetValue(warmup)), parse.GetValue(threads), parse.GetValue(saveOptimized));
            Console.WriteLine(result);
            return result;
        }));
        root.Subcommands.Add(bench);
    }

    private static int Guarded<T>(Func<T> tool)
    {
        try
        {
            tool();
            return 0;
        }
        catch (ModelToolException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
