using HdrHistogram;

namespace LoadTest.Stats;

/// <summary>Latency percentiles of successful requests, in microseconds (HdrHistogram, 3 significant digits).
/// Percentiles follow HdrHistogram's definition: the smallest recorded value that at least p% of values are
/// equal to or below.</summary>
public sealed record LatencySummary(long Count, double MeanUs, double P50Us, double P90Us, double P95Us, double P99Us, double MaxUs)
{
    public static readonly LatencySummary Empty = new(0, 0, 0, 0, 0, 0, 0);

    public static LatencySummary From(HistogramBase histogram) => histogram.TotalCount == 0
        ? Empty
        : new(histogram.TotalCount, histogram.GetMean(),
            histogram.GetValueAtPercentile(50), histogram.GetValueAtPercentile(90), histogram.GetValueAtPercentile(95),
            histogram.GetValueAtPercentile(99), histogram.GetMaxValue());

    /// <summary>An empty histogram for latencies in microseconds, 1 us to 1 hour.</summary>
    public static LongHistogram NewHistogram() => new(1, 3_600_000_000L, 3);
}
