using System.Globalization;
using System.Text;

namespace LoadTest.Reliability;

/// <summary>
/// Writes a run's results into a folder: <c>summary.csv</c> (one row per category: passed, total, key figures),
/// <c>failures.csv</c> (every kept failure: category, check, detail), <c>skipped.csv</c> and <c>summary.md</c> (the
/// same as a markdown table, with the failures listed).
/// </summary>
public static class ResultFiles
{
    public static void Write(string directory, SuiteResult result, ReliabilityOptions options)
    {
        Directory.CreateDirectory(directory);
        var summary = new StringBuilder("category,passed,total,figures\n");
        var failures = new StringBuilder("category,check,detail\n");
        var skipped = new StringBuilder("category,check,reason\n");
        foreach (var c in result.Categories)
        {
            summary.Append(CultureInfo.InvariantCulture, $"{Csv(c.Name)},{c.Passed},{c.Total},{Csv(string.Join("; ", c.Figures.Select(f => $"{f.Key}={f.Value}")))}\n");
            foreach (var f in c.Failures)
            {
                failures.Append(CultureInfo.InvariantCulture, $"{Csv(c.Name)},{Csv(f.Check)},{Csv(f.Detail)}\n");
            }
            foreach (var s in c.Skips)
            {
                skipped.Append(CultureInfo.InvariantCulture, $"{Csv(c.Name)},{Csv(s.Check)},{Csv(s.Reason)}\n");
            }
        }
        File.WriteAllText(Path.Combine(directory, "summary.csv"), summary.ToString());
        File.WriteAllText(Path.Combine(directory, "failures.csv"), failures.ToString());
        File.WriteAllText(Path.Combine(directory, "skipped.csv"), skipped.ToString());
        File.WriteAllText(Path.Combine(directory, "summary.md"), Markdown(result, options));
    }

    public static string Markdown(SuiteResult result, ReliabilityOptions options)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Reliability suite, {result.Form} form\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Started {result.StartedUtc:yyyy-MM-dd HH:mm} UTC, {result.Elapsed.TotalMinutes:F1} min; HTTP {options.HttpUrl}, gRPC {options.GrpcUrl}; ");
        md.Append(CultureInfo.InvariantCulture, $"control mode {result.Mode.ToString().ToLowerInvariant()}; {result.Summary}.\n\n");
        md.Append("| category | passed/total | key figures |\n|---|---|---|\n");
        foreach (var c in result.Categories)
        {
            var figures = string.Join(", ", c.Figures.Select(f => $"{f.Key} {f.Value}"));
            if (c.Skips.Count > 0)
            {
                figures += "; skipped: " + string.Join(", ", c.Skips.Select(s => $"{s.Check} ({s.Reason})"));
            }
            md.Append(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Passed}/{c.Total} | {Cell(figures)} |\n");
        }
        var all = result.Categories.SelectMany(c => c.Failures.Select(f => (c.Name, f))).ToList();
        if (all.Count > 0)
        {
            md.Append("\n## Failures\n\n| category | check | detail |\n|---|---|---|\n");
            foreach (var (category, f) in all.Take(300))
            {
                md.Append(CultureInfo.InvariantCulture, $"| {category} | `{f.Check}` | {Cell(HttpOutcome.Shorten(f.Detail, 300))} |\n");
            }
            if (all.Count > 300)
            {
                md.Append(CultureInfo.InvariantCulture, $"\n{all.Count - 300} more in failures.csv.\n");
            }
        }
        return md.ToString();
    }

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Cell(string value) => value.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("\r", " ", StringComparison.Ordinal);
}
