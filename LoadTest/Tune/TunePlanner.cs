namespace LoadTest.Tune;

/// <summary>One rung of the one-change-at-a-time ladder: the points that differ from the rung's starting point in
/// <see cref="Dimension"/> only (the starting point first), the one kept (the best feasible, else the starting
/// point), and the values skipped as invalid with the reason.</summary>
public sealed record LadderRung(TuneDimension Dimension, IReadOnlyList<string> TriedKeys, string KeptKey, IReadOnlyList<string> Skipped);

/// <summary>The planner's answer: the next point to measure and the stage that chose it (null when the search is
/// done or <see cref="LimitReached"/>), the ladder as far as it is measured, and the combination stage's values.</summary>
public sealed record PlanStep(TunePoint? Next, string? Stage, IReadOnlyList<LadderRung> Ladder, bool LimitReached,
    IReadOnlyDictionary<TuneDimension, IReadOnlyList<string>>? CombinedValues);

/// <summary>
/// The search: Model Analyzer's quick mode in spirit, the project's benchmark ladder in method. First the
/// baseline (each dimension's first value); then a ladder over the dimensions in <see cref="TuneSpace.Dimensions"/>
/// order, changing one dimension at a time from the best point so far and keeping the best (a coordinate descent
/// pass: points measured = 1 + the sum of the dimensions' sizes, not their product); then a brute force over the
/// cross product of each dimension's <c>combineTop</c> best values on its rung, which catches interactions the
/// ladder's single pass misses (instances with batching, FP16 with CUDA graphs) among only the values that helped.
/// Invalid points (<see cref="TuneSpace.Check"/>) are skipped, never measured; at most <c>maxPoints</c> results.
/// Pure and deterministic: the next point depends only on the results so far, so a resumed run recomputes the same
/// path and skips what its state file holds.
/// </summary>
public static class TunePlanner
{
    public static PlanStep Next(TuneSpace space, TuneGoal goal, IReadOnlyDictionary<string, PointResult> done, int maxPoints, int combineTop)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(combineTop, 1);
        var ladder = new List<LadderRung>();
        PlanStep Measure(TunePoint point, string stage, IReadOnlyDictionary<TuneDimension, IReadOnlyList<string>>? combined = null) =>
            done.Count >= maxPoints ? new PlanStep(null, null, ladder, true, combined) : new PlanStep(point, stage, ladder, false, combined);

        var current = space.Baseline;
        if (!done.ContainsKey(current.Key))
        {
            return Measure(current, "baseline");
        }

        var rungPoints = new Dictionary<TuneDimension, List<PointResult>>();
        foreach (var dimension in TuneSpace.Dimensions)
        {
            if (space.Count(dimension) <= 1)
            {
                continue;
            }
            var tried = new List<PointResult> { done[current.Key] };
            var skipped = new List<string>();
            for (var i = 0; i < space.Count(dimension); i++)
            {
                var candidate = space.With(current, dimension, i);
                if (candidate.Key == current.Key)
                {
                    continue;
                }
                if (space.Check(candidate) is { } invalid)
                {
                    skipped.Add($"{candidate.ValueOf(dimension)}: {invalid}");
                    continue;
                }
                if (!done.TryGetValue(candidate.Key, out var result))
                {
                    return Measure(candidate, "ladder:" + Name(dimension));
                }
                tried.Add(result);
            }
            var kept = goal.Best(tried) ?? tried[0];
            ladder.Add(new LadderRung(dimension, [.. tried.Select(t => t.Key)], kept.Key, skipped));
            rungPoints[dimension] = tried;
            current = kept.Point;
        }

        // Each dimension's best values on its rung (feasible ones, best first: the kept value leads).
        var values = new Dictionary<TuneDimension, IReadOnlyList<string>>();
        var options = new List<List<TunePoint>> { new() { current } };
        foreach (var dimension in TuneSpace.Dimensions)
        {
            var best = rungPoints.TryGetValue(dimension, out var tried)
                ? tried.Where(t => goal.OperatingLevel(t) is not null)
                    .Order(Comparer<PointResult>.Create((a, b) => Compare(goal, a, b)))
                    .Select(t => t.Point.ValueOf(dimension)).Distinct().Take(combineTop).ToList()
                : [];
            if (best.Count == 0)
            {
                best = [current.ValueOf(dimension)];
            }
            values[dimension] = best;
        }
        foreach (var point in Combinations(space, current, values))
        {
            if (space.Check(point) is null && !done.ContainsKey(point.Key))
            {
                return Measure(point, "combination", values);
            }
        }
        return new PlanStep(null, null, ladder, false, values);
    }

    /// <summary>The dimension's name in stages and reports: <c>precision</c>, <c>accelerator</c>, <c>cuda-graphs</c>,
    /// <c>instances</c>, <c>queue-delay</c>, <c>preferred-batch-sizes</c>.</summary>
    public static string Name(TuneDimension dimension) => dimension switch
    {
        TuneDimension.CudaGraphs => "cuda-graphs",
        TuneDimension.QueueDelay => "queue-delay",
        TuneDimension.PreferredBatchSizes => "preferred-batch-sizes",
        _ => dimension.ToString().ToLowerInvariant(),
    };

    /// <summary>The cross product of <paramref name="values"/> (dimension order, each dimension's values in order),
    /// as points of <paramref name="space"/>.</summary>
    private static IEnumerable<TunePoint> Combinations(TuneSpace space, TunePoint start, IReadOnlyDictionary<TuneDimension, IReadOnlyList<string>> values)
    {
        IEnumerable<TunePoint> points = [start];
        foreach (var dimension in TuneSpace.Dimensions)
        {
            var d = dimension;
            var indexes = Enumerable.Range(0, space.Count(d)).Where(i => values[d].Contains(space.With(start, d, i).ValueOf(d)))
                .OrderBy(i => IndexIn(values[d], space.With(start, d, i).ValueOf(d))).ToList();
            points = points.SelectMany(p => indexes.Select(i => space.With(p, d, i))).ToList();
        }
        return points.DistinctBy(p => p.Key);
    }

    /// <summary>Orders feasible points best first (ties: the earlier measured).</summary>
    private static int Compare(TuneGoal goal, PointResult a, PointResult b)
    {
        var (la, lb) = (goal.OperatingLevel(a)!, goal.OperatingLevel(b)!);
        return goal.Better(la, lb) ? -1 : goal.Better(lb, la) ? 1 : a.Order.CompareTo(b.Order);
    }

    private static int IndexIn(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }
        return int.MaxValue;
    }
}
