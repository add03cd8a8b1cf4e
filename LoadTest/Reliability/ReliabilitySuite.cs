using System.Diagnostics;

namespace LoadTest.Reliability;

/// <summary>
/// Runs the selected categories in order against one server, prints one line per category as it finishes and then
/// <c>N passed, M failed</c>, and writes the result files when asked. A category that throws is one failed check
/// (the suite goes on with the next).
/// </summary>
public static class ReliabilitySuite
{
    /// <summary>The categories by name.</summary>
    public static IReliabilityCategory Create(string name) => name switch
    {
        "bad-input" => new BadInputCategory(),
        "fuzz" => new FuzzCategory(),
        "overload" => new OverloadCategory(),
        "faults" => new FaultsCategory(),
        "security" => new SecurityCategory(),
        "soak" => new SoakCategory(),
        "drain" => new DrainCategory(),
        _ => throw new ArgumentException($"unknown category '{name}' (known: {string.Join(", ", ReliabilityOptions.AllCategories)})"),
    };

    /// <param name="output">Where the category lines and the summary go (stdout for the command line).</param>
    /// <param name="log">Progress and failure details (stderr for the command line).</param>
    public static async Task<SuiteResult> RunAsync(ReliabilityOptions options, TextWriter output, TextWriter log, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var categories = options.SelectedCategories.Select(Create).ToList();
        await using var context = await SuiteContext.CreateAsync(options, log, cancellationToken).ConfigureAwait(false);
        log.WriteLine($"reliability: {(options.Long ? "long" : "short")} form against {options.HttpUrl} and {options.GrpcUrl}, model '{context.Model}', " +
            $"control mode {context.Mode.ToString().ToLowerInvariant()}, server pid {options.ServerPid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not given"}, " +
            $"repository {options.Repository ?? "not given"}");
        var reports = new List<CategoryReport>();
        foreach (var category in categories)
        {
            var report = new CategoryReport(category.Name);
            var watch = Stopwatch.StartNew();
            log.WriteLine($"reliability: {category.Name} ...");
            try
            {
                await category.RunAsync(context, report, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                report.Fail($"{category.Name}/aborted", $"{e.GetType().Name}: {e.Message}");
            }
            report.Figure("time", $"{watch.Elapsed.TotalSeconds:F0} s");
            reports.Add(report);
            output.WriteLine(report.Line());
            foreach (var f in report.Failures.Take(40))
            {
                log.WriteLine($"  FAIL {f.Check}: {f.Detail}");
            }
            if (report.Failed > 40)
            {
                log.WriteLine($"  ... {report.Failed - 40} more failures (all in the result files)");
            }
        }
        var result = new SuiteResult(reports, started, clock.Elapsed, options.Long ? "long" : "short", context.Mode);
        output.WriteLine(result.Summary);
        if (options.OutputDirectory is { } dir)
        {
            ResultFiles.Write(dir, result, options);
            log.WriteLine($"reliability: results in {Path.GetFullPath(dir)}");
        }
        return result;
    }
}
