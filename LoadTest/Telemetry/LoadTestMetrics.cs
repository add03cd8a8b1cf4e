using System.Diagnostics.Metrics;

namespace LoadTest.Telemetry;

/// <summary>
/// The generator's own client-side metrics, Meter "LoadTest": <c>loadtest_requests</c> (counter of completed
/// requests, label <c>status</c>: "ok" or the error label) and <c>loadtest_latency</c> (histogram of request
/// latency in seconds, all statuses). Prometheus exposes them as <c>loadtest_requests_total</c> and
/// <c>loadtest_latency_seconds_*</c>. Recording is allocation-free and thread-safe.
/// </summary>
public static class LoadTestMetrics
{
    public const string MeterName = "LoadTest";
    public const string RequestsName = "loadtest_requests";
    public const string LatencyName = "loadtest_latency";

    /// <summary>Histogram buckets in seconds, 100 us to 60 s.</summary>
    public static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>(RequestsName, "{request}", "Completed inference requests by status");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>(LatencyName, "s", "Inference request latency seen by the client");
    private static readonly KeyValuePair<string, object?> Ok = new("status", "ok");

    public static void RecordSuccess(double seconds)
    {
        Requests.Add(1, Ok);
        Latency.Record(seconds, Ok);
    }

    public static void RecordFailure(string status, double seconds)
    {
        var tag = new KeyValuePair<string, object?>("status", status);
        Requests.Add(1, tag);
        Latency.Record(seconds, tag);
    }
}
