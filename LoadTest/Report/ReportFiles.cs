namespace LoadTest.Report;

/// <summary>Writes <c>results.csv</c>, <c>results.json</c> and <c>report.html</c> into a folder (created if missing).</summary>
public static class ReportFiles
{
    public static async Task<IReadOnlyList<string>> WriteAsync(string directory, RunReport report, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var csv = Path.Combine(directory, "results.csv");
        var json = Path.Combine(directory, "results.json");
        var html = Path.Combine(directory, "report.html");
        await using (var writer = new StreamWriter(csv))
        {
            CsvReport.Write(writer, report);
        }
        await File.WriteAllTextAsync(json, JsonReport.Serialize(report), cancellationToken);
        await File.WriteAllTextAsync(html, HtmlReport.Render(report), cancellationToken);
        return [csv, json, html];
    }
}
