using System.CommandLine;
using System.Globalization;
using LoadTest.Inputs;

namespace LoadTest.Cli;

/// <summary>Options shared by the sweep and the scenario: where, what model, what requests, how long, where the
/// results go, and the pass/fail objectives.</summary>
public sealed class CommonOptions
{
    public Option<string> Url { get; } = new("--url", "-u") { Description = "Server address (gRPC: the 8001 endpoint; HTTP: 8000)", DefaultValueFactory = _ => "http://127.0.0.1:8001" };
    public Option<string> Protocol { get; } = new("--protocol", "-i") { Description = "grpc, grpc-stream (ModelStreamInfer, as perf_analyzer --streaming), http (binary tensor extension) or http-json", DefaultValueFactory = _ => "grpc" };
    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model name", DefaultValueFactory = _ => "resnet50" };
    public Option<string> ModelVersion { get; } = new("--model-version", "-x") { Description = "Model version (default: the server's choice)", DefaultValueFactory = _ => "" };
    public Option<string?> Input { get; } = new("--input") { Description = "Input that --dims, --datatype and --images apply to (default: the model's first)" };
    public Option<string[]> Output { get; } = new("--output") { Description = "Outputs to request (repeatable or comma separated; default: all)", AllowMultipleArgumentsPerToken = true };
    public Option<string?> Dims { get; } = new("--dims") { Description = "Dims of that input without the batch dimension, comma separated (default: metadata)" };
    public Option<string[]> Shape { get; } = new("--shape") { Description = "NAME:d1,d2,... dims of a named input (for variable dims)" };
    public Option<string?> DataType { get; } = new("--datatype") { Description = "Datatype of that input: FP32, FP16, UINT8, ... (default: metadata)" };
    public Option<int> Batch { get; } = new("--batch", "-b") { Description = "Rows per request (ignored when the model does not batch)", DefaultValueFactory = _ => 1 };
    public Option<string?> Images { get; } = new("--images") { Description = "Folder of images to send (decoded, RGB, resized to the input's HxW, e.g. 224x224)" };
    public Option<ImageScaling> Scaling { get; } = new("--image-scaling") { Description = "None, Inception or ImageNet (mean/std)", DefaultValueFactory = _ => ImageScaling.ImageNet };
    public Option<int?> ExpectTop1 { get; } = new("--expect-top1") { Description = "Fail a response whose first output's first row arg-max is not this class" };
    public Option<int> Channels { get; } = new("--channels") { Description = "gRPC channels (HTTP/2 connections)", DefaultValueFactory = _ => 4 };
    public Option<int> Seed { get; } = new("--seed") { Description = "Seed of random input data and Poisson arrivals", DefaultValueFactory = _ => 1 };
    public Option<double> MeasurementInterval { get; } = new("--measurement-interval", "-p") { Description = "Measurement window, milliseconds", DefaultValueFactory = _ => 5000 };
    public Option<string?> OutputDir { get; } = new("--output-dir") { Description = "Write results.csv, results.json and report.html here" };
    public Option<double> MaxErrorRate { get; } = new("--max-error-rate") { Description = "Exit 1 when a level's error rate (0-1) exceeds this", DefaultValueFactory = _ => 0 };
    public Option<double?> MaxP99Ms { get; } = new("--max-p99-ms") { Description = "Exit 1 when a level's p99 latency exceeds this many ms" };
    public Option<int> MetricsPort { get; } = new("--metrics-port") { Description = "Serve Prometheus metrics on this port (0: off; default $LOADTEST_METRICS_PORT)", DefaultValueFactory = _ => int.TryParse(Environment.GetEnvironmentVariable("LOADTEST_METRICS_PORT"), out var p) ? p : 0 };
    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "No progress on stderr" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Url, Protocol, Model, ModelVersion, Input, Output, Dims, Shape, DataType, Batch, Images, Scaling, ExpectTop1,
            Channels, Seed, MeasurementInterval, OutputDir, MaxErrorRate, MaxP99Ms, MetricsPort, Quiet })
        {
            command.Options.Add(o);
        }
    }

    public RequestOptions Requests(ParseResult parse)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var s in parse.GetValue(Shape) ?? [])
        {
            var at = s.LastIndexOf(':');
            if (at <= 0)
            {
                throw new ArgumentException($"--shape {s}: expected NAME:d1,d2,...");
            }
            shapes[s[..at]] = ParseDims(s[(at + 1)..], "--shape");
        }
        var dims = parse.GetValue(Dims);
        var images = parse.GetValue(Images);
        if (images is not null)
        {
            images = Path.GetFullPath(images, Environment.CurrentDirectory);
            if (!Directory.Exists(images))
            {
                throw new ArgumentException($"--images {images}: no such folder");
            }
        }
        return new RequestOptions(parse.GetValue(Input),
            [.. (parse.GetValue(Output) ?? []).SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
            dims is null ? null : ParseDims(dims, "--dims"), shapes, parse.GetValue(DataType), parse.GetValue(Batch),
            images, parse.GetValue(Scaling), parse.GetValue(ExpectTop1), parse.GetValue(Seed));
    }

    private static long[] ParseDims(string text, string option) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d =>
            long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
                : throw new ArgumentException($"{option} {text}: '{d}' is not a positive dimension"))];
}
