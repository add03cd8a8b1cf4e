using System.CommandLine;
using System.Globalization;
using LoadTest;
using LoadTest.Clients;

// A closed-loop benchmark client for the KServe v2 endpoints (the full load generator is its own issue),
// and the bare Kestrel peer the benchmarks compare against.
var url = new Option<string>("--url") { Description = "Server address (gRPC: the 8001 endpoint; HTTP: 8000)", DefaultValueFactory = _ => "http://127.0.0.1:8001" };
var protocol = new Option<string>("--protocol") { Description = "grpc or http (binary tensor extension)", DefaultValueFactory = _ => "grpc" };
var model = new Option<string>("--model", "-m") { Description = "Model name", DefaultValueFactory = _ => "resnet50" };
var input = new Option<string>("--input") { Description = "Input name", DefaultValueFactory = _ => "input" };
var output = new Option<string>("--output") { Description = "Output name", DefaultValueFactory = _ => "logits" };
var dims = new Option<string>("--dims") { Description = "Input dims without the batch dimension, comma separated", DefaultValueFactory = _ => "3,224,224" };
var batch = new Option<int>("--batch", "-b") { Description = "Rows per request (0: the model does not batch)", DefaultValueFactory = _ => 1 };
var concurrency = new Option<string>("--concurrency") { Description = "Concurrency levels, e.g. 1,8,64", DefaultValueFactory = _ => "1" };
var duration = new Option<double>("--duration") { Description = "Seconds measured per level", DefaultValueFactory = _ => 10 };
var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds per level", DefaultValueFactory = _ => 2 };
var channels = new Option<int>("--channels") { Description = "gRPC channels (HTTP/2 connections)", DefaultValueFactory = _ => 4 };

var root = new RootCommand("AspireInference load test: closed-loop KServe v2 benchmark client");
foreach (var o in new Option[] { url, protocol, model, input, output, dims, batch, concurrency, duration, warmup, channels })
{
    root.Options.Add(o);
}
root.SetAction(async (parse, ct) =>
{
    var rows = parse.GetValue(batch);
    long[] dimList = [.. parse.GetValue(dims)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse)];
    var spec = rows > 0
        ? InputSpec.RandomFp32(parse.GetValue(input)!, dimList, rows, parse.GetValue(output)!)
        : InputSpec.RandomFp32(parse.GetValue(input)!, dimList[1..], (int)dimList[0], parse.GetValue(output)!) with { Shape = dimList };
    var address = new Uri(parse.GetValue(url)!);
    await using IInferClient client = parse.GetValue(protocol) switch
    {
        "grpc" => new GrpcInferClient(address, parse.GetValue(model)!, spec, parse.GetValue(channels)),
        "http" => new HttpBinaryInferClient(address, parse.GetValue(model)!, spec),
        var p => throw new ArgumentException($"--protocol must be grpc or http, not '{p}'"),
    };
    Console.WriteLine($"# {parse.GetValue(protocol)} {address} model={parse.GetValue(model)} batch={Math.Max(rows, 1)} shape=[{string.Join(",", spec.Shape)}]");
    Console.WriteLine("concurrency,infer_per_sec,requests_per_sec,p50_us,p90_us,p99_us,max_us,errors");
    var failed = false;
    foreach (var level in parse.GetValue(concurrency)!.Split(',').Select(int.Parse))
    {
        var r = await ClosedLoopRunner.RunAsync(client, level, Math.Max(rows, 1),
            TimeSpan.FromSeconds(parse.GetValue(warmup)), TimeSpan.FromSeconds(parse.GetValue(duration)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{r.Concurrency},{r.InferencesPerSecond:F0},{r.RequestsPerSecond:F0},{r.PercentileMicros(50):F0},{r.PercentileMicros(90):F0},{r.PercentileMicros(99):F0},{r.PercentileMicros(100):F0},{r.Errors}"));
        foreach (var (kind, n) in r.ErrorsByKind)
        {
            Console.WriteLine($"#   errors {kind}: {n}");
        }
        failed |= r.Errors > 0 || r.Requests == 0;
    }
    return failed ? 1 : 0;
});

var bare = new Command("bare-server", "Run the bare Kestrel echo peer (POST /echo) used as the HTTP baseline");
var port = new Option<int>("--port") { DefaultValueFactory = _ => 9000 };
bare.Options.Add(port);
bare.SetAction(async (parse, ct) => { await BareServer.RunAsync(parse.GetValue(port), ct); return 0; });
root.Subcommands.Add(bare);

return await root.Parse(args).InvokeAsync();
