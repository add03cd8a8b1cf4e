using System.CommandLine;

namespace LoadTest.Reliability;

/// <summary>
/// <c>reliability</c>: the reliability suite against a running server on loopback. Prints one line per category
/// (<c>category: passed/total, key figures</c>) and <c>N passed, M failed</c>; exit code 0 only when every check
/// passed. See docs/reliability.md.
/// </summary>
public static class ReliabilityCommand
{
    public static Command Create()
    {
        var urlHttp = new Option<string>("--url-http") { Description = "KServe v2 HTTP endpoint", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var urlGrpc = new Option<string>("--url-grpc") { Description = "KServe v2 gRPC endpoint", DefaultValueFactory = _ => "http://127.0.0.1:8001" };
        var shortForm = new Option<bool>("--short") { Description = "Short form (default): 5,000 fuzzed requests, 10 s overload, 30 s soak" };
        var longForm = new Option<bool>("--long") { Description = "Long form: 100,000 fuzzed requests, 60 s overload, 10 min soak" };
        var pid = new Option<int?>("--server-pid") { Description = "The server's process id: RSS, threads and descriptors from /proc (needed by soak, drain and the RSS checks)" };
        var repository = new Option<string?>("--repository") { Description = "The server's model repository folder (needed by the checks that write model files)" };
        var model = new Option<string>("--model", "-m") { Description = "A cheap ready model with fixed numeric inputs", DefaultValueFactory = _ => "identity" };
        var overloadModel = new Option<string>("--overload-model") { Description = "A model with a bounded dynamic_batching default_queue_policy max_queue_size", DefaultValueFactory = _ => "overload" };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "The server's --max-request-body-bytes", DefaultValueFactory = _ => 64L * 1024 * 1024 };
        var mode = new Option<ServerControlMode>("--model-control-mode") { Description = "The server's control mode (default: detected)", DefaultValueFactory = _ => ServerControlMode.Unknown };
        var only = new Option<string[]>("--categories") { Description = $"Categories to run, comma separated ({string.Join(",", ReliabilityOptions.AllCategories)}; default all but drain)", AllowMultipleArgumentsPerToken = true };
        var drain = new Option<bool>("--drain") { Description = "Also run the drain check last: SIGTERM to --server-pid under load (ends the server)" };
        var fuzz = new Option<int?>("--fuzz-count") { Description = "Fuzzed requests (default 100000 long, 5000 short)" };
        var soak = new Option<double?>("--soak-seconds") { Description = "Soak length (default 600 long, 30 short)" };
        var overload = new Option<double?>("--overload-seconds") { Description = "Overload length (default 60 long, 10 short)" };
        var timeout = new Option<double>("--request-timeout") { Description = "Seconds before a request counts as a hang", DefaultValueFactory = _ => 10 };
        var pollWait = new Option<double>("--poll-wait") { Description = "Seconds to wait for a poll-mode server to see a change on disk", DefaultValueFactory = _ => 60 };
        var seed = new Option<int>("--seed") { Description = "Seed of the fuzzer and of random data", DefaultValueFactory = _ => 1 };
        var outputDir = new Option<string?>("--output-dir") { Description = "Write summary.csv, failures.csv, skipped.csv and summary.md here" };
        var command = new Command("reliability", "Reliability suite: bad inputs, fuzz, overload, faults, security, soak (and drain) against a server on loopback")
        {
            urlHttp, urlGrpc, shortForm, longForm, pid, repository, model, overloadModel, maxBody, mode, only, drain, fuzz, soak, overload, timeout, pollWait, seed, outputDir,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(shortForm) && parse.GetValue(longForm))
            {
                Console.Error.WriteLine("reliability: --short and --long exclude each other");
                return 2;
            }
            var categories = (parse.GetValue(only) ?? []).SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            if (parse.GetValue(drain) && categories.Count > 0 && !categories.Contains("drain"))
            {
                categories.Add("drain");
            }
            else if (parse.GetValue(drain))
            {
                categories = [.. ReliabilityOptions.AllCategories];
            }
            var unknown = categories.Where(c => !ReliabilityOptions.AllCategories.Contains(c)).ToList();
            if (unknown.Count > 0)
            {
                Console.Error.WriteLine($"reliability: unknown categories {string.Join(", ", unknown)} (known: {string.Join(", ", ReliabilityOptions.AllCategories)})");
                return 2;
            }
            var options = new ReliabilityOptions
            {
                HttpUrl = new Uri(parse.GetValue(urlHttp)!),
                GrpcUrl = new Uri(parse.GetValue(urlGrpc)!),
                Long = parse.GetValue(longForm),
                ServerPid = parse.GetValue(pid),
                Repository = parse.GetValue(repository),
                Model = parse.GetValue(model)!,
                OverloadModel = parse.GetValue(overloadModel)!,
                MaxBodyBytes = parse.GetValue(maxBody),
                ControlMode = parse.GetValue(mode),
                Categories = categories,
                FuzzCount = parse.GetValue(fuzz),
                SoakDuration = parse.GetValue(soak) is { } s ? TimeSpan.FromSeconds(s) : null,
                OverloadDuration = parse.GetValue(overload) is { } o ? TimeSpan.FromSeconds(o) : null,
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                PollWait = TimeSpan.FromSeconds(parse.GetValue(pollWait)),
                Seed = parse.GetValue(seed),
                OutputDirectory = parse.GetValue(outputDir),
            };
            if (!options.HttpUrl.IsLoopback || !options.GrpcUrl.IsLoopback)
            {
                Console.Error.WriteLine("reliability: the suite runs against loopback only (127.0.0.1, ::1 or localhost)");
                return 2;
            }
            try
            {
                var result = await ReliabilitySuite.RunAsync(options, Console.Out, Console.Error, ct);
                return result.AllPassed ? 0 : 1;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or HttpRequestException)
            {
                Console.Error.WriteLine($"reliability: {e.Message}");
                return 2;
            }
        });
        return command;
    }
}
