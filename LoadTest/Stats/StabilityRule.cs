namespace LoadTest.Stats;

/// <summary>
/// perf_analyzer's stability rule: a level is stable when, over the last <see cref="Windows"/> measurement windows,
/// each window's throughput and each window's p99 latency are within <see cref="Percentage"/> percent of those
/// windows' average. A window with no successful request is never stable.
/// </summary>
public sealed record StabilityRule(double Percentage = 10, int Windows = 3)
{
    public bool IsStable(IReadOnlyList<WindowSample> samples) =>
        IsStable(samples.Select(s => (s.Throughput, s.P99Us)).ToList());

    public bool IsStable(IReadOnlyList<(double Throughput, double P99)> samples)
    {
        if (samples.Count < Windows)
        {
            return false;
        }
        var last = samples.Skip(samples.Count - Windows).ToList();
        return Within(last.Select(s => s.Throughput).ToList()) && Within(last.Select(s => s.P99).ToList());
    }

    private bool Within(IReadOnlyList<double> values)
    {
        var average = values.Average();
        if (average <= 0 || values.Any(v => v <= 0))
        {
            return false;
        }
        var tolerance = Percentage / 100.0;
        return values.All(v => Math.Abs(v - average) <= average * tolerance);
    }
}
