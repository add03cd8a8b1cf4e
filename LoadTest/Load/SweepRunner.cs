using LoadTest.Model;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Runs levels in order; stops early when a level's p99 exceeds the latency threshold (that level is kept
/// in the results) or the run is cancelled (the finished levels are returned).</summary>
public static class SweepRunner
{
    public static async Task<SweepOutcome> RunAsync(IReadOnlyList<LevelSpec> levels, MeasurementPlan plan, double? latencyThresholdMs,
        IServerInfoClient? server, IProgressSink progress, CancellationToken cancellationToken)
    {
        var results = new List<LevelResult>();
        foreach (var level in levels)
        {
            try
            {
                results.Add(await LevelRunner.RunAsync(level, plan, server, progress, cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                progress.Note("cancelled; reporting the finished levels");
                return new SweepOutcome(results, "cancelled");
            }
            if (results[^1].Interrupted)
            {
                progress.Note("cancelled; reporting the finished levels and the interrupted one");
                return new SweepOutcome(results, $"cancelled during {level.Label} (that level is partial, marked interrupted)");
            }
            if (latencyThresholdMs is { } limit && results[^1].Latency.P99Us > limit * 1000)
            {
                var reason = $"p99 {results[^1].Latency.P99Us / 1000:0.###} ms exceeded the latency threshold {limit} ms at {level.Label}";
                progress.Note("sweep stopped: " + reason);
                return new SweepOutcome(results, reason);
            }
        }
        return new SweepOutcome(results, null);
    }
}

/// <summary>The levels measured, and why the sweep stopped early (null when it ran all levels).</summary>
public sealed record SweepOutcome(IReadOnlyList<LevelResult> Levels, string? StoppedEarly);
