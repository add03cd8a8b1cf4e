using LoadTest.Report;

namespace LoadTest.Tune;

/// <summary>One point as the reports show it: its result, whether it counts under the constraints (and why not),
/// and the level that scores it.</summary>
public sealed record PointRow(PointResult Result, bool Feasible, string? Why, MeasuredLevel? Operating);

/// <summary>A point on the Pareto front under the constraints (inferences/s up, p99 down).</summary>
public sealed record ParetoPoint(int Order, string Key, double Concurrency, double InferencesPerSecond, double P99Us);

/// <summary>
/// Everything the tune's reports show, computed from the settings and the state only (so the reports of a resumed
/// or interrupted run are the same function of its state file): each point's feasibility and operating level, the
/// ladder as the planner walked it, the combination stage's values, the Pareto front and the best point.
/// </summary>
public sealed record TuneReport(TuneSettings Settings, IReadOnlyList<VariantRecord> Variants, IReadOnlyList<PointRow> Points,
    IReadOnlyList<LadderRung> Ladder, IReadOnlyDictionary<string, IReadOnlyList<string>>? CombinedValues, bool SearchComplete, bool LimitReached,
    string? BestKey, string? BestConfigText, IReadOnlyList<ParetoPoint> Pareto, string Machine, string CommandLine, DateTimeOffset Written)
{
    public PointRow? Best => BestKey is null ? null : Points.Single(p => p.Result.Key == BestKey);

    public static TuneReport Create(TuneSettings settings, TuneState state)
    {
        var goal = settings.Goal;
        var best = goal.Best(state.Results);
        var step = TunePlanner.Next(settings.Space, goal, state.ByKey(), settings.MaxConfigs, settings.CombineTop);
        var rows = state.Results.OrderBy(r => r.Order).Select(r => goal.Infeasibility(r) is { } why
            ? new PointRow(r, false, why, null)
            : new PointRow(r, true, null, goal.OperatingLevel(r))).ToList();
        return new TuneReport(settings, state.Variants, rows, step.Ladder,
            step.CombinedValues?.ToDictionary(kv => TunePlanner.Name(kv.Key), kv => kv.Value),
            step.Next is null && !step.LimitReached, step.LimitReached, best?.Key, best is null ? null : TuneFiles.BestConfig(best, settings.ModelName),
            [.. goal.ParetoFront(state.Results).Select(p => new ParetoPoint(p.Point.Order, p.Point.Key, p.Level.Concurrency, p.Level.InferencesPerSecond, p.Level.P99Us))],
            RunInfo.DescribeMachine(), "LoadTest " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), DateTimeOffset.Now);
    }
}
