namespace LoadTest.Tune;

/// <summary>What the search optimizes: the most inferences/s, or the lowest p99 latency.</summary>
public enum TuneObjective
{
    Throughput,
    P99Latency,
}

/// <summary>
/// The objective and the constraints. A level is feasible when it is clean (successes, no errors), its p99 is at
/// most <see cref="MaxP99Ms"/> and its inferences/s at least <see cref="MinThroughput"/>; a point is feasible when
/// it was measured, has a feasible level, and (with <see cref="MaxGpuMemoryMb"/>) the GPU memory its model added is
/// known and within the limit. A point's score is its best feasible level: the most inferences/s (ties: lower p99),
/// or the lowest p99 (ties: more inferences/s). Variants whose accuracy (cosine similarity mean of the first output
/// against FP32) is under <see cref="MinCosine"/> are excluded before they are measured. Pure.
/// </summary>
public sealed record TuneGoal(TuneObjective Objective, double? MaxP99Ms = null, double? MinThroughput = null, double? MaxGpuMemoryMb = null,
    double MinCosine = 0.99)
{
    public bool IsFeasible(MeasuredLevel level) =>
        level.Clean
        && (MaxP99Ms is not { } p99 || level.P99Us <= p99 * 1000)
        && (MinThroughput is not { } min || level.InferencesPerSecond >= min);

    /// <summary>Why <paramref name="result"/> is not feasible, or null when it is.</summary>
    public string? Infeasibility(PointResult result)
    {
        if (result.Status != PointStatus.Measured)
        {
            return result.Status == PointStatus.Excluded ? "excluded: " + result.Message : $"failed at {result.FailedStage}: {result.Message}";
        }
        if (MaxGpuMemoryMb is { } limit)
        {
            if (result.GpuMemoryAddedBytes is not { } added)
            {
                return "no GPU memory reading (nv_gpu_memory_used_bytes) for the GPU memory constraint";
            }
            if (added > limit * 1024 * 1024)
            {
                return FormattableString.Invariant($"GPU memory {added / 1024 / 1024:0.#} MiB > {limit} MiB");
            }
        }
        if (!result.Levels.Any(IsFeasible))
        {
            var limits = new[]
            {
                MaxP99Ms is { } p ? FormattableString.Invariant($"p99 <= {p} ms") : null,
                MinThroughput is { } t ? FormattableString.Invariant($">= {t} inferences/s") : null,
            }.OfType<string>();
            return result.Levels.Any(l => l.Clean) ? $"no level met the constraints ({string.Join(", ", limits)})" : "no level without errors";
        }
        return null;
    }

    /// <summary>The level that scores <paramref name="result"/>, or null when the point is not feasible.</summary>
    public MeasuredLevel? OperatingLevel(PointResult result) =>
        Infeasibility(result) is not null ? null : result.Levels.Where(IsFeasible).Aggregate((a, b) => Better(b, a) ? b : a);

    /// <summary>True when level <paramref name="a"/> scores better than <paramref name="b"/>.</summary>
    public bool Better(MeasuredLevel a, MeasuredLevel b) => Objective == TuneObjective.Throughput
        ? a.InferencesPerSecond > b.InferencesPerSecond || (a.InferencesPerSecond == b.InferencesPerSecond && a.P99Us < b.P99Us)
        : a.P99Us < b.P99Us || (a.P99Us == b.P99Us && a.InferencesPerSecond > b.InferencesPerSecond);

    /// <summary>The objective's value of a level: inferences/s, or p99 in microseconds.</summary>
    public double Score(MeasuredLevel level) => Objective == TuneObjective.Throughput ? level.InferencesPerSecond : level.P99Us;

    /// <summary>The best feasible point of <paramref name="results"/> (ties: the earlier one), or null when none is.</summary>
    public PointResult? Best(IEnumerable<PointResult> results)
    {
        PointResult? best = null;
        MeasuredLevel? bestLevel = null;
        foreach (var r in results.OrderBy(r => r.Order))
        {
            if (OperatingLevel(r) is { } level && (bestLevel is null || Better(level, bestLevel)))
            {
                (best, bestLevel) = (r, level);
            }
        }
        return best;
    }

    /// <summary>The feasible (point, level) pairs no other feasible pair beats on both inferences/s and p99 (at
    /// least as good on both and better on one), by throughput ascending.</summary>
    public IReadOnlyList<(PointResult Point, MeasuredLevel Level)> ParetoFront(IEnumerable<PointResult> results)
    {
        var candidates = results.Where(r => Infeasibility(r) is null)
            .SelectMany(r => r.Levels.Where(IsFeasible).Select(l => (Point: r, Level: l))).ToList();
        return [.. candidates
            .Where(c => !candidates.Any(o => o.Level.InferencesPerSecond >= c.Level.InferencesPerSecond && o.Level.P99Us <= c.Level.P99Us
                && (o.Level.InferencesPerSecond > c.Level.InferencesPerSecond || o.Level.P99Us < c.Level.P99Us)))
            .OrderBy(c => c.Level.InferencesPerSecond).ThenBy(c => c.Point.Order)];
    }
}
