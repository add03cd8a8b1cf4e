using System.CommandLine;
using LoadTest.Clients;
using LoadTest.Load;
using LoadTest.Model;
using LoadTest.Report;
using LoadTest.Telemetry;

namespace LoadTest.Cli;

/// <summary>What differs between a sweep and a scenario: the mode name, the levels (built once the client exists),
/// the measurement plan and the early-stop threshold.</summary>
public sealed record LoadShape(string Mode, Func<IInferClient, int, IReadOnlyList<LevelSpec>> Levels, MeasurementPlan Plan,
    double? LatencyThresholdMs, string Measurement);

/// <summary>
/// One run from start to exit code: model metadata, requests, client, metrics export, the sweep with progress on
/// stderr and CSV rows on stdout, report files, and the verdict. Exit codes: 0 pass, 1 an objective failed
/// (errors, p99 SLO, no successful request), 2 the run could not start (bad option, server or model unavailable).
/// </summary>
public static class RunPipeline
{
    public static async Task<int> RunAsync(CommonOptions c, ParseResult parse, LoadShape shape, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.Now;
        var protocol = parse.GetValue(c.Protocol)!;
        var address = new Uri(parse.GetValue(c.Url)!);
        var modelName = parse.GetValue(c.Model)!;
        var version = parse.GetValue(c.ModelVersion)!;
        var quiet = parse.GetValue(c.Quiet);
        RequestSet requests;
        using var info = InferClientFactory.CreateInfo(protocol, address, modelName, version);
        try
        {
            var options = c.Requests(parse) with { SyntheticImages = shape.Mode == "users" };
            ModelInfo? model = null;
            try
            {
                model = await info.GetModelInfoAsync(cancellationToken);
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
            {
                if (options.Input is null || options.Dims is null || options.Outputs.Count == 0)
                {
                    Console.Error.WriteLine($"error: cannot read the model's metadata ({e.Message}); is the server up at {address}?");
                    return 2;
                }
                Console.Error.WriteLine($"warning: no model metadata ({e.Message}); using --input/--dims/--output, responses checked for presence only");
            }
            requests = RequestSetup.Build(model, options);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }

        await using var client = InferClientFactory.Create(protocol, address, modelName, version, requests.Templates, requests.Validator, parse.GetValue(c.Channels));
        await using var metrics = await MetricsExport.StartAsync(parse.GetValue(c.MetricsPort), cancellationToken);
        using var console = new ConsoleProgress(Console.Error, live: !Console.IsErrorRedirected);
        IProgressSink progress = new CsvRowPrinter(Console.Out, quiet ? NoProgress.Instance : console);
        if (metrics.ScrapeUri is not null)
        {
            progress.Note($"metrics: {metrics.ScrapeUri}");
        }
        Console.Out.WriteLine($"# {protocol} {address} model={modelName} batch={requests.BatchSize} {requests.Description}");
        Console.Out.WriteLine(CsvReport.Header(shape.Mode));

        var outcome = await SweepRunner.RunAsync(shape.Levels(client, requests.BatchSize), shape.Plan, shape.LatencyThresholdMs, info, progress, cancellationToken);
        var verdict = SloVerdict.Evaluate(outcome.Levels, parse.GetValue(c.MaxErrorRate), parse.GetValue(c.MaxP99Ms));
        var report = new RunReport(
            new RunInfo(address.ToString(), protocol, modelName + (version.Length > 0 ? $" v{version}" : ""), shape.Mode, requests.BatchSize,
                requests.Description, shape.Measurement, "LoadTest " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), started,
                RunInfo.DescribeMachine()),
            outcome.Levels, outcome.StoppedEarly, verdict);
        if (parse.GetValue(c.OutputDir) is { } dir)
        {
            // Relative to the directory the command was run from (also under `dotnet run`: see LoadTest.csproj).
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir, Environment.CurrentDirectory));
            var files = await ReportFiles.WriteAsync(full, report, CancellationToken.None);
            progress.Note("wrote " + string.Join(", ", files));
            Console.Error.WriteLine("results: " + full);
        }
        foreach (var failure in verdict.Failures)
        {
            Console.Error.WriteLine("FAIL " + failure);
        }
        return verdict.Passed ? 0 : 1;
    }
}
