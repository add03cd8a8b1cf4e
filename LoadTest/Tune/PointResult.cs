namespace LoadTest.Tune;

/// <summary>What happened to one point: measured, failed (with the <see cref="Stage"/> that failed: <c>variant</c>,
/// <c>load</c>, <c>measure</c>), or excluded before measuring (its variant is under the accuracy threshold).</summary>
public enum PointStatus
{
    Measured,
    Failed,
    Excluded,
}

/// <summary>One concurrency level of a point's sweep (latencies in microseconds; server columns per request, null
/// when the server gave no statistics; GPU figures from the server's metrics after the level, null without GPU
/// metrics).</summary>
public sealed record MeasuredLevel(double Concurrency, double InferencesPerSecond, double RequestsPerSecond, double P50Us, double P90Us,
    double P99Us, long Successes, long Errors, bool? Stable, double? QueueUs, double? ComputeInferUs, double? AverageBatchSize,
    double? GpuUtilization, double? GpuMemoryUsedBytes)
{
    /// <summary>A level counts only when it had successful requests and no failed one.</summary>
    public bool Clean => Successes > 0 && Errors == 0;
}

/// <summary>The record of one point in the state file and the results (JSON, snake_case). <see cref="Order"/> is
/// the position in the run (0 = the baseline); <see cref="Stage"/> the planner stage that chose it
/// (<c>baseline</c>, <c>ladder:&lt;dimension&gt;</c>, <c>combination</c>). <see cref="GpuMemoryBeforeLoadBytes"/>
/// is the server's GPU memory in use before the point's model loaded, so the point's own share is the levels'
/// peak minus it.</summary>
public sealed record PointResult(int Order, string Key, TunePoint Point, string Stage, PointStatus Status, string? FailedStage, string? Message,
    IReadOnlyList<MeasuredLevel> Levels, double? GpuMemoryBeforeLoadBytes, string ConfigText)
{
    /// <summary>GPU memory this point's loaded model added, in bytes: peak used over its levels minus the reading
    /// before load; null without GPU metrics.</summary>
    public double? GpuMemoryAddedBytes =>
        Levels.Select(l => l.GpuMemoryUsedBytes).Where(v => v is not null).DefaultIfEmpty(null).Max() is { } peak
            ? Math.Max(0, peak - (GpuMemoryBeforeLoadBytes ?? 0))
            : null;
}
