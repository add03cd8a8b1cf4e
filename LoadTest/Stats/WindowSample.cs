using HdrHistogram;
using LoadTest.Model;

namespace LoadTest.Stats;

/// <summary>One measurement window: its length, the latencies of the requests that completed successfully in it
/// (microseconds; owned by this sample), the failures by status, and the server's cumulative statistics read just
/// after it closed (null when unavailable).</summary>
public sealed record WindowSample(double Seconds, HistogramBase Latency, IReadOnlyDictionary<string, long> Errors, ServerStatsSnapshot? ServerAfter)
{
    public long Successes => Latency.TotalCount;

    public long ErrorCount => Errors.Values.Sum();

    /// <summary>Successful requests per second.</summary>
    public double Throughput => Seconds > 0 ? Successes / Seconds : 0;

    public double P99Us => Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(99);
}
