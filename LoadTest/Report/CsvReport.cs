using System.Globalization;
using LoadTest.Stats;

namespace LoadTest.Report;

/// <summary>One CSV row per level, perf_analyzer-like columns. The first column is named by the mode
/// (<c>concurrency</c>, <c>request_rate</c>, <c>users</c>); latencies in microseconds; server_* columns are
/// microseconds per request (empty when the server gave no statistics).</summary>
public static class CsvReport
{
    public static string Header(string mode) =>
        $"{mode},infer_per_sec,requests_per_sec,p50_us,p90_us,p95_us,p99_us,max_us,avg_us,errors,error_rate," +
        "server_queue_us,server_compute_input_us,server_compute_infer_us,server_compute_output_us,server_avg_batch,seconds,stable";

    public static string Row(LevelResult r)
    {
        var s = r.Server;
        var l = r.Latency;
        return string.Create(CultureInfo.InvariantCulture,
            $"{r.Level:0.##},{r.InferencesPerSecond:F1},{r.RequestsPerSecond:F1},{l.P50Us:F0},{l.P90Us:F0},{l.P95Us:F0},{l.P99Us:F0},{l.MaxUs:F0},{l.MeanUs:F0}," +
            $"{r.ErrorCount},{r.ErrorRate:0.######}," +
            $"{s?.QueueUs.ToString("F1", CultureInfo.InvariantCulture)},{s?.ComputeInputUs.ToString("F1", CultureInfo.InvariantCulture)}," +
            $"{s?.ComputeInferUs.ToString("F1", CultureInfo.InvariantCulture)},{s?.ComputeOutputUs.ToString("F1", CultureInfo.InvariantCulture)}," +
            $"{s?.AverageBatchSize.ToString("F2", CultureInfo.InvariantCulture)},{r.Seconds:F2},{(r.Interrupted ? "interrupted" : r.Stable is { } st ? (st ? "yes" : "no") : "")}");
    }

    public static void Write(TextWriter writer, RunReport report)
    {
        writer.WriteLine(Header(report.Info.Mode));
        foreach (var level in report.Levels)
        {
            writer.WriteLine(Row(level));
        }
    }
}
