using System.Diagnostics;
using LoadTest.Model;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Runs one level by a <see cref="MeasurementPlan"/>: starts the driver, warms up, measures windows
/// (reading the server's statistics after each), stops the driver and merges the windows into a
/// <see cref="LevelResult"/>.</summary>
public static class LevelRunner
{
    public static async Task<LevelResult> RunAsync(LevelSpec level, MeasurementPlan plan, IServerInfoClient? server,
        IProgressSink progress, CancellationToken cancellationToken)
    {
        var recorder = new LevelRecorder(plan.RequestCount);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        progress.LevelStarted(level, recorder);
        var load = level.CreateDriver().RunAsync(recorder, stop.Token);
        var windows = new List<WindowSample>();
        ServerStatsSnapshot? before = null;
        var interrupted = false;
        long windowStart = 0;
        try
        {
            await Task.Delay(plan.Warmup, cancellationToken).ConfigureAwait(false);
            before = server is null ? null : await server.GetStatisticsAsync(cancellationToken).ConfigureAwait(false);
            recorder.StartMeasuring();
            var started = Stopwatch.GetTimestamp();
            windowStart = started;
            while (true)
            {
                var length = plan.Window;
                if (plan.Duration is { } d)
                {
                    var left = d - Stopwatch.GetElapsedTime(started);
                    length = left < length ? left : length;
                }
                if (length > TimeSpan.Zero)
                {
                    await Task.WhenAny(Task.Delay(length, cancellationToken), recorder.CountReached).ConfigureAwait(false);
                }
                cancellationToken.ThrowIfCancellationRequested();
                var now = Stopwatch.GetTimestamp();
                var sample = recorder.TakeWindow(Stopwatch.GetElapsedTime(windowStart, now).TotalSeconds);
                windowStart = now;
                var stats = server is null ? null : await server.GetStatisticsAsync(cancellationToken).ConfigureAwait(false);
                sample = sample with { ServerAfter = stats };
                windows.Add(sample);
                progress.WindowClosed(level, windows.Count, sample);
                if (recorder.CountReached.IsCompleted
                    || (plan.Duration is { } total && Stopwatch.GetElapsedTime(started) >= total - TimeSpan.FromMilliseconds(1))
                    || (!plan.IsFixed && (plan.Rule.IsStable(windows) || windows.Count >= plan.MaxWindows)))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && windowStart != 0)
        {
            // Stopped mid-level (Ctrl+C, SIGTERM): keep what was measured, marked interrupted. Cancelled during
            // warm-up, nothing was measured and the cancellation propagates.
            windows.Add(recorder.TakeWindow(Stopwatch.GetElapsedTime(windowStart).TotalSeconds) with { ServerAfter = null });
            interrupted = true;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await load.ConfigureAwait(false);
        }
        var result = interrupted
            ? Merge(level, plan with { Duration = TimeSpan.Zero }, windows, null) with { Stable = null, Interrupted = true }
            : Merge(level, plan, windows, before);
        progress.LevelFinished(level, result);
        return result;
    }

    /// <summary>Merges the windows that make up the result: all of them for a fixed plan, the last ones the stability
    /// rule judged otherwise; the server breakdown spans exactly those windows.</summary>
    public static LevelResult Merge(LevelSpec level, MeasurementPlan plan, IReadOnlyList<WindowSample> windows, ServerStatsSnapshot? before)
    {
        bool? stable = plan.IsFixed ? null : plan.Rule.IsStable(windows);
        var first = plan.IsFixed ? 0 : Math.Max(0, windows.Count - plan.Rule.Windows);
        var used = windows.Skip(first).ToList();
        var histogram = LatencySummary.NewHistogram();
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var w in used)
        {
            histogram.Add(w.Latency);
            foreach (var (status, n) in w.Errors)
            {
                errors[status] = errors.GetValueOrDefault(status) + n;
            }
        }
        var start = first == 0 ? before : windows[first - 1].ServerAfter;
        var end = used.Count > 0 ? used[^1].ServerAfter : null;
        var breakdown = start is not null && end is not null ? ServerBreakdown.Between(start, end) : null;
        return new LevelResult(level.Mode, level.Level, level.BatchSize, used.Sum(w => w.Seconds), histogram.TotalCount, errors,
            LatencySummary.From(histogram), breakdown, used.Count, stable);
    }
}
