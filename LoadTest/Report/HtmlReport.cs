using System.Globalization;
using System.Net;
using System.Text;
using LoadTest.Stats;

namespace LoadTest.Report;

/// <summary>A self-contained HTML page (inline CSS and SVG, no script, nothing fetched) for one run: the verdict,
/// throughput vs latency, latency percentiles per level, the server-side time breakdown, and the table of
/// numbers with errors by status.</summary>
public static class HtmlReport
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

    public static string Render(RunReport report)
    {
        var info = report.Info;
        var levels = report.Levels;
        var categories = levels.Select(l => l.Level.ToString("0.##", CultureInfo.InvariantCulture)).ToList();
        var modeName = info.Mode.Replace('_', ' ');
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>LoadTest: ").Append(E(info.Model)).Append("</title>\n<style>")
            .Append(ReportStyle.Css)
            .Append("</style></head><body>\n");
        html.Append("<h1>LoadTest report: ").Append(E(info.Model)).Append(" over ").Append(E(info.Protocol)).Append("</h1>\n<table class=\"meta\">");
        Meta(html, "target", info.Target);
        Meta(html, "started", info.Started.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
        Meta(html, "load", $"{modeName} sweep, batch {info.BatchSize}");
        Meta(html, "inputs", info.Inputs);
        Meta(html, "measurement", info.Measurement);
        Meta(html, "machine", info.Machine);
        Meta(html, "command", info.CommandLine);
        html.Append("</table>\n");
        html.Append(report.Verdict.Passed ? "<div class=\"verdict pass\">PASS" : "<div class=\"verdict fail\">FAIL: " + E(string.Join("; ", report.Verdict.Failures)))
            .Append("</div>\n");
        if (report.StoppedEarly is not null)
        {
            html.Append("<p>Sweep stopped early: ").Append(E(report.StoppedEarly)).Append("</p>\n");
        }

        html.Append("<div class=\"charts\">\n");
        var (p99Per, p99Unit) = TimeUnit(levels.Select(l => l.Latency.P99Us));
        html.Append(SvgChart.Line($"Throughput vs latency (points labelled by {modeName})", "throughput (inferences/s)", $"latency ({p99Unit})",
        [
            new ChartSeries("p50", Palette[0], [.. levels.Select(l => (l.InferencesPerSecond, l.Latency.P50Us / p99Per))]),
            new ChartSeries("p99", Palette[3], [.. levels.Select(l => (l.InferencesPerSecond, l.Latency.P99Us / p99Per))], Labels: categories),
        ]));
        var (maxPer, maxUnit) = TimeUnit(levels.Select(l => l.Latency.MaxUs));
        html.Append(SvgChart.Line("Latency percentiles per level", modeName, $"latency ({maxUnit})",
        [
            Series("p50", 0, levels, l => l.Latency.P50Us / maxPer),
            Series("p90", 1, levels, l => l.Latency.P90Us / maxPer),
            Series("p95", 2, levels, l => l.Latency.P95Us / maxPer),
            Series("p99", 3, levels, l => l.Latency.P99Us / maxPer),
            Series("max", 4, levels, l => l.Latency.MaxUs / maxPer) with { Dashed = true },
        ], categories));
        html.Append(SvgChart.Line("Throughput per level", modeName, "per second",
        [
            new ChartSeries("inferences/s", Palette[0], [.. levels.Select((l, i) => ((double)i, l.InferencesPerSecond))]),
            new ChartSeries("requests/s", Palette[2], [.. levels.Select((l, i) => ((double)i, l.RequestsPerSecond))], Dashed: true),
        ], categories));
        if (levels.Any(l => l.OfferedRequestsPerSecond is not null))
        {
            html.Append(SvgChart.Line("Offered vs achieved request rate", modeName, "requests/s",
            [
                new ChartSeries("offered", Palette[3], [.. levels.Select((l, i) => ((double)i, l.OfferedRequestsPerSecond ?? 0))], Dashed: true),
                new ChartSeries("achieved (sent and completed)", Palette[0], [.. levels.Select((l, i) => ((double)i, l.AchievedRequestsPerSecond))]),
                new ChartSeries("successful", Palette[2], [.. levels.Select((l, i) => ((double)i, l.RequestsPerSecond))]),
            ], categories));
        }
        if (levels.Any(l => l.Server is not null))
        {
            var (per, unit) = TimeUnit(levels.Select(l => l.Server is { } s ? s.QueueUs + s.ComputeInputUs + s.ComputeInferUs + s.ComputeOutputUs : 0));
            html.Append(SvgChart.StackedBars("Server time per request", modeName, unit, categories,
            [
                new BarLayer("queue", Palette[1], [.. levels.Select(l => (l.Server?.QueueUs ?? 0) / per)]),
                new BarLayer("compute input", Palette[4], [.. levels.Select(l => (l.Server?.ComputeInputUs ?? 0) / per)]),
                new BarLayer("compute infer", Palette[0], [.. levels.Select(l => (l.Server?.ComputeInferUs ?? 0) / per)]),
                new BarLayer("compute output", Palette[2], [.. levels.Select(l => (l.Server?.ComputeOutputUs ?? 0) / per)]),
            ]));
        }
        html.Append("</div>\n");

        var openLoop = levels.Any(l => l.OfferedRequestsPerSecond is not null);
        html.Append("<h2>Per level</h2>\n<table class=\"data\"><tr><th>").Append(E(modeName))
            .Append("</th><th>infer/s</th><th>req/s</th>").Append(openLoop ? "<th>achieved req/s</th>" : "").Append("<th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th>")
            .Append("<th>errors</th><th>server queue us</th><th>compute input us</th><th>compute infer us</th><th>compute output us</th>")
            .Append("<th>avg batch</th><th>seconds</th><th>stable</th><th class=\"l\">errors by status</th></tr>\n");
        foreach (var l in levels)
        {
            var s = l.Server;
            html.Append("<tr>");
            Cells(html, l.Level.ToString("0.##", CultureInfo.InvariantCulture), F(l.InferencesPerSecond, "F1"), F(l.RequestsPerSecond, "F1"));
            if (openLoop)
            {
                Cells(html, F(l.AchievedRequestsPerSecond, "F1"));
            }
            Cells(html, Ms(l.Latency.P50Us), Ms(l.Latency.P90Us), Ms(l.Latency.P95Us), Ms(l.Latency.P99Us), Ms(l.Latency.MaxUs),
                l.ErrorCount.ToString(CultureInfo.InvariantCulture), F(s?.QueueUs, "F1"), F(s?.ComputeInputUs, "F1"), F(s?.ComputeInferUs, "F1"),
                F(s?.ComputeOutputUs, "F1"), F(s?.AverageBatchSize, "F2"), F(l.Seconds, "F1"), l.Interrupted ? "interrupted" : l.Stable is { } st ? (st ? "yes" : "no") : "-");
            html.Append("<td class=\"l\">").Append(E(string.Join(", ", l.Errors.Select(e => $"{e.Key}: {e.Value}")))).Append("</td></tr>\n");
        }
        html.Append("</table>\n<p class=\"meta\">Latency: successful requests, from send (closed loop, scenario) or from the intended send time ")
            .Append("(open loop), to the validated response; HdrHistogram, 3 significant digits. Server columns: Triton's statistics extension, ")
            .Append("per request, over the same windows.</p>\n</body></html>\n");
        return html.ToString();
    }

    private static ChartSeries Series(string name, int color, IReadOnlyList<LevelResult> levels, Func<LevelResult, double> value) =>
        new(name, Palette[color], [.. levels.Select((l, i) => ((double)i, value(l)))]);

    /// <summary>The unit a time axis reads best in, by its largest value in microseconds: us below 1 ms, ms below
    /// 10 s, s above (so ticks never read "10000k"). Returns the divisor from microseconds and the unit's name.</summary>
    public static (double MicrosPerUnit, string Unit) TimeUnit(IEnumerable<double> micros)
    {
        var max = micros.DefaultIfEmpty(0).Max();
        return max < 1_000 ? (1, "us") : max < 10_000_000 ? (1_000, "ms") : (1_000_000, "s");
    }

    private static void Meta(StringBuilder html, string key, string value) =>
        html.Append("<tr><td>").Append(E(key)).Append("</td><td>").Append(E(value)).Append("</td></tr>");

    private static void Cells(StringBuilder html, params string[] cells)
    {
        foreach (var c in cells)
        {
            html.Append("<td>").Append(E(c)).Append("</td>");
        }
    }

    private static string Ms(double micros) => (micros / 1000).ToString("0.###", CultureInfo.InvariantCulture);

    private static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
