using System.Globalization;
using System.Net;
using System.Text;
using LoadTest.Report;

namespace LoadTest.Tune;

/// <summary>
/// The tune's self-contained HTML page (inline CSS and SVG, no script, nothing fetched), in the style of LoadTest's
/// report: the best config and its config.pbtxt; throughput vs p99 of every measured config with the Pareto front
/// under the constraints; the one-change-at-a-time ladder as bars of the objective; GPU memory and utilization per
/// config (when the server exports GPU metrics); accuracy per precision; and the table of every config tried.
/// </summary>
public static class TuneHtml
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

    public static string Render(TuneReport report)
    {
        var s = report.Settings;
        var goal = s.Goal;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tune: ").Append(E(s.ModelName)).Append("</title>\n<style>")
            .Append(ReportStyle.Css).Append("tr.best td{background:#eef6ff;font-weight:600}")
            .Append("pre{background:#f6f6f6;padding:8px;font-size:12px;overflow:auto}")
            .Append("</style></head><body>\n");
        html.Append("<h1>tune report: ").Append(E(s.ModelName)).Append("</h1>\n<table class=\"meta\">");
        Meta(html, "model", s.ModelPath);
        Meta(html, "objective", (goal.Objective == TuneObjective.Throughput ? "maximize inferences/s" : "minimize p99 latency") + "; constraints: " + Constraints(goal));
        Meta(html, "search", $"baseline, ladder (one change at a time), then combinations of the best {s.CombineTop} values per dimension; at most {s.MaxConfigs} configs; " +
            (report.SearchComplete ? "complete" : report.LimitReached ? "stopped at the limit" : "not finished (resume to continue)"));
        Meta(html, "space", Space(s.Space));
        Meta(html, "measurement", Inv($"{s.Measure.Protocol}, batch {s.Measure.Batch}, concurrency {string.Join(", ", s.Measure.Concurrency)}, warm-up {s.Measure.Plan.Warmup.TotalSeconds:0.##} s, ") +
            (s.Measure.Plan.IsFixed ? Inv($"{s.Measure.Plan.Duration?.TotalSeconds:0.##} s per level")
                : Inv($"{s.Measure.Plan.Window.TotalMilliseconds:0} ms windows until 3 agree within {s.Measure.Plan.Rule.Percentage}% (at most {s.Measure.Plan.MaxWindows})")));
        Meta(html, "server", s.Server);
        Meta(html, "machine", report.Machine);
        Meta(html, "command", report.CommandLine);
        Meta(html, "written", report.Written.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
        html.Append("</table>\n");
        if (report.Best is { } best)
        {
            var l = best.Operating!;
            html.Append("<div class=\"verdict pass\">best: #").Append(best.Result.Order + 1).Append(' ').Append(E(best.Result.Point.Label))
                .Append(Inv($": {l.InferencesPerSecond:F1} inferences/s, p99 {l.P99Us / 1000:0.###} ms at concurrency {l.Concurrency:0}")).Append("</div>\n")
                .Append("<p>Written to <code>best/").Append(E(s.ModelName)).Append("/</code> (config.pbtxt and the ")
                .Append(E(best.Result.Point.Precision)).Append(" variant's model.onnx):</p>\n<pre>").Append(E(report.BestConfigText ?? "")).Append("</pre>\n");
        }
        else
        {
            html.Append("<div class=\"verdict fail\">no config met the constraints</div>\n");
        }

        var measured = report.Points.Where(p => p.Result.Levels.Count > 0).ToList();
        html.Append("<div class=\"charts\">\n");
        if (measured.Count > 0)
        {
            // Too many configs for a legend: each curve's last point (its highest concurrency) names the config.
            var series = measured.Select((p, i) => new ChartSeries("#" + (p.Result.Order + 1), Palette[i % Palette.Length],
                [.. p.Result.Levels.Select(l => (l.InferencesPerSecond, l.P99Us / 1000))], Dashed: !p.Feasible,
                Labels: [.. p.Result.Levels.Select((l, j) => j == p.Result.Levels.Count - 1 ? "#" + (p.Result.Order + 1) : "")])).ToList();
            if (report.Pareto.Count > 0)
            {
                series.Add(new ChartSeries("Pareto front", "#000", [.. report.Pareto.Select(p => (p.InferencesPerSecond, p.P99Us / 1000))], Dashed: true));
            }
            html.Append(SvgChart.Line("Throughput vs p99 of every config (black dashed: Pareto front)", "inferences/s", "p99 (ms)", series, legend: false));
        }
        var rungs = Rungs(report);
        if (rungs.Count > 0)
        {
            var unit = goal.Objective == TuneObjective.Throughput ? "inferences/s" : "p99 (ms)";
            html.Append(SvgChart.StackedBars("The ladder: one change at a time (kept in blue)", "rung", unit, [.. rungs.Select(r => r.Label)],
            [
                new BarLayer("kept", Palette[0], [.. rungs.Select(r => r.Kept ? r.Value : 0)]),
                new BarLayer("tried", "#aaa", [.. rungs.Select(r => r.Kept ? 0 : r.Value)]),
            ]));
        }
        var gpu = measured.Where(p => p.Result.GpuMemoryAddedBytes is not null).ToList();
        if (gpu.Count > 0)
        {
            var categories = gpu.Select(p => "#" + (p.Result.Order + 1)).ToList();
            html.Append(SvgChart.StackedBars("GPU memory added per config", "config", "MiB", categories,
                [new BarLayer("GPU memory", Palette[4], [.. gpu.Select(p => p.Result.GpuMemoryAddedBytes!.Value / 1024 / 1024)])]));
            html.Append(SvgChart.StackedBars("GPU utilization at the operating level", "config", "%", categories,
                [new BarLayer("utilization", Palette[2], [.. gpu.Select(p => 100 * ((p.Operating ?? p.Result.Levels[^1]).GpuUtilization ?? 0))])]));
        }
        var accurate = report.Variants.Where(v => v.Accuracy is not null).ToList();
        if (accurate.Count > 0)
        {
            html.Append(SvgChart.StackedBars("Accuracy against FP32 (cosine similarity mean)", "precision", "cosine", [.. accurate.Select(v => v.Precision)],
                [new BarLayer("cosine mean", Palette[1], [.. accurate.Select(v => v.Accuracy!.CosineMean)])]));
        }
        html.Append("</div>\n");
        if (gpu.Count == 0)
        {
            html.Append("<p class=\"meta\">No GPU metrics: the server exported no <code>nv_gpu_*</code> gauges (a CPU run), so no GPU memory or utilization per config.</p>\n");
        }

        html.Append("<h2>Precision variants</h2>\n<table class=\"data\"><tr><th class=\"l\">precision</th><th class=\"l\">model</th><th class=\"l\">status</th>")
            .Append("<th>top-1 agreement</th><th>cosine mean</th><th>cosine min</th><th>max |diff|</th><th>samples</th><th class=\"l\">note</th></tr>\n");
        foreach (var v in report.Variants)
        {
            var a = v.Accuracy;
            html.Append("<tr><td class=\"l\">").Append(E(v.Precision)).Append("</td><td class=\"l\">").Append(E(v.ModelName)).Append("</td><td class=\"l\">")
                .Append(v.Status == PointStatus.Measured ? "ready" : v.Status.ToString().ToLowerInvariant()).Append("</td>");
            Cells(html, a is null ? "-" : a.Top1Agreement.ToString("P1", CultureInfo.InvariantCulture), F(a?.CosineMean, "F5"), F(a?.CosineMin, "F5"),
                F(a?.MaxAbsDiff, "G4"), a?.Samples.ToString(CultureInfo.InvariantCulture) ?? "-");
            html.Append("<td class=\"l\">").Append(E(v.Message ?? (v.Precision == "fp32" ? "reference" : ""))).Append("</td></tr>\n");
        }
        html.Append("</table>\n");

        html.Append("<h2>Every config tried</h2>\n<table class=\"data\"><tr><th>#</th><th class=\"l\">stage</th><th class=\"l\">config</th><th class=\"l\">status</th>")
            .Append("<th>concurrency</th><th>infer/s</th><th>p50 ms</th><th>p99 ms</th><th>avg batch</th><th>GPU MiB</th><th class=\"l\">levels (concurrency: infer/s, p99 ms)</th><th class=\"l\">note</th></tr>\n");
        foreach (var p in report.Points)
        {
            var r = p.Result;
            var o = p.Operating;
            html.Append(r.Key == report.BestKey ? "<tr class=\"best\">" : "<tr>");
            Cells(html, (r.Order + 1).ToString(CultureInfo.InvariantCulture));
            html.Append("<td class=\"l\">").Append(E(r.Stage)).Append("</td><td class=\"l\">").Append(E(r.Point.Label)).Append("</td><td class=\"l\">")
                .Append(r.Status.ToString().ToLowerInvariant()).Append("</td>");
            Cells(html, F(o?.Concurrency, "0"), F(o?.InferencesPerSecond, "F1"), F(o?.P50Us / 1000, "0.###"), F(o?.P99Us / 1000, "0.###"),
                F(o?.AverageBatchSize, "F2"), F(r.GpuMemoryAddedBytes / 1024 / 1024, "F0"));
            html.Append("<td class=\"l\">").Append(E(string.Join("; ", r.Levels.Select(l => Inv($"{l.Concurrency:0}: {l.InferencesPerSecond:F1}, {l.P99Us / 1000:0.###}") +
                (l.Stable == false ? " (not stable)" : ""))))).Append("</td><td class=\"l\">").Append(E(p.Why ?? "")).Append("</td></tr>\n");
        }
        html.Append("</table>\n");
        if (report.CombinedValues is { } combined)
        {
            html.Append("<p class=\"meta\">Combination stage values: ")
                .Append(E(string.Join("; ", combined.Select(kv => $"{kv.Key}: {string.Join(", ", kv.Value)}")))).Append("</p>\n");
        }
        html.Append("<p class=\"meta\">Latency: successful requests from send to validated response (LoadTest's closed loop, HdrHistogram). ")
            .Append("A config's operating level is its best level under the constraints; dashed curves did not meet them. ")
            .Append("Ladder bars: the objective at each tried config's operating level, 0 when it met no constraint.</p>\n</body></html>\n");
        return html.ToString();
    }

    /// <summary>The ladder as bars: the baseline, then each rung's tried points (value of the objective at their
    /// operating level, 0 when infeasible), labelled by the changed value.</summary>
    private static List<(string Label, double Value, bool Kept)> Rungs(TuneReport report)
    {
        var byKey = report.Points.ToDictionary(p => p.Result.Key, StringComparer.Ordinal);
        double Value(string key) => byKey.TryGetValue(key, out var p) && p.Operating is { } l
            ? (report.Settings.Goal.Objective == TuneObjective.Throughput ? l.InferencesPerSecond : l.P99Us / 1000)
            : 0;
        var bars = new List<(string, double, bool)>();
        var baseline = report.Settings.Space.Baseline.Key;
        if (byKey.ContainsKey(baseline))
        {
            bars.Add(("baseline", Value(baseline), true));
        }
        foreach (var rung in report.Ladder)
        {
            foreach (var key in rung.TriedKeys.Skip(1))
            {
                bars.Add((Short(rung.Dimension, byKey[key].Result.Point.ValueOf(rung.Dimension)), Value(key), key == rung.KeptKey));
            }
        }
        return bars;
    }

    /// <summary>A rung's bar label: the changed value, with a hint of its dimension.</summary>
    private static string Short(TuneDimension dimension, string value) => dimension switch
    {
        TuneDimension.Instances => "x" + value,
        TuneDimension.QueueDelay => value == "off" ? "no batching" : value + "us",
        TuneDimension.PreferredBatchSizes => "pref " + (value == "off" ? "none" : value),
        TuneDimension.CudaGraphs => "graphs " + value,
        _ => value,
    };

    private static string Constraints(TuneGoal g)
    {
        var parts = new[]
        {
            g.MaxP99Ms is { } p ? Inv($"p99 <= {p} ms") : null,
            g.MinThroughput is { } t ? Inv($">= {t} inferences/s") : null,
            g.MaxGpuMemoryMb is { } m ? Inv($"GPU memory <= {m} MiB") : null,
            Inv($"accuracy: cosine mean >= {g.MinCosine}"),
            "no failed request",
        }.OfType<string>();
        return string.Join(", ", parts);
    }

    private static string Space(TuneSpace s) =>
        $"precision {string.Join("/", s.Precisions)}; accelerator {string.Join(" | ", s.Accelerators.Select(a => a.Text))}; " +
        $"CUDA graphs {string.Join(" | ", s.CudaGraphs.Select(g => g.Count == 0 ? "off" : string.Join("/", g)))}; instances {string.Join("/", s.Instances)}; " +
        $"max queue delay {string.Join("/", s.QueueDelaysUs.Select(d => d is { } v ? v + "us" : "off"))}; " +
        $"preferred batch sizes {string.Join(" | ", s.PreferredBatchSizes.Select(g => g.Count == 0 ? "none" : string.Join("/", g)))}; max_batch_size {s.MaxBatchSize}; " +
        $"{s.Expand().Count} valid configs in the full grid";

    private static void Meta(StringBuilder html, string key, string value) =>
        html.Append("<tr><td>").Append(E(key)).Append("</td><td>").Append(E(value)).Append("</td></tr>");

    private static void Cells(StringBuilder html, params string[] cells)
    {
        foreach (var c in cells)
        {
            html.Append("<td>").Append(E(c)).Append("</td>");
        }
    }

    private static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
