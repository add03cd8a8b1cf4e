using System.Diagnostics;
using HdrHistogram;
using LoadTest.Clients;

namespace LoadTest;

/// <summary>Result of one concurrency level.</summary>
public sealed record LevelResult(int Concurrency, long Requests, long Errors, double Seconds, int BatchSize, HistogramBase Latency,
    IReadOnlyDictionary<string, long> ErrorsByKind)
{
    public double RequestsPerSecond => Requests / Seconds;

    public double InferencesPerSecond => Requests * BatchSize / Seconds;

    public double PercentileMicros(double p) => Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(p) / (Stopwatch.Frequency / 1_000_000.0);
}

/// <summary>
/// Closed loop: <c>concurrency</c> workers each send a request and wait for its response, for a fixed
/// time after a warm-up. Latency is recorded per worker (no shared state on the hot path) and merged.
/// </summary>
public static class ClosedLoopRunner
{
    public static async Task<LevelResult> RunAsync(IInferClient client, int concurrency, int batchSize, TimeSpan warmup, TimeSpan duration)
    {
        using var warm = new CancellationTokenSource(warmup);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Loop(client, null, null, warm.Token)));

        var histograms = Enumerable.Range(0, concurrency).Select(_ => new LongHistogram(Stopwatch.Frequency * 60, 3)).ToArray();
        var errors = Enumerable.Range(0, concurrency).Select(_ => new Dictionary<string, long>()).ToArray();
        using var measure = new CancellationTokenSource(duration);
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(i => Loop(client, histograms[i], errors[i], measure.Token)));
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        var merged = new LongHistogram(Stopwatch.Frequency * 60, 3);
        foreach (var h in histograms)
        {
            merged.Add(h);
        }
        var byKind = errors.SelectMany(e => e).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        var errorCount = byKind.Values.Sum();
        return new LevelResult(concurrency, merged.TotalCount, errorCount, seconds, batchSize, merged, byKind);
    }

    private static async Task Loop(IInferClient client, LongHistogram? histogram, Dictionary<string, long>? errors, CancellationToken stop)
    {
        await Task.Yield();
        while (!stop.IsCancellationRequested)
        {
            var t0 = Stopwatch.GetTimestamp();
            string? error;
            try
            {
                error = await client.InferAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                error = "transport-" + e.HttpRequestError;
            }
            var elapsed = Stopwatch.GetTimestamp() - t0;
            if (stop.IsCancellationRequested)
            {
                return;
            }
            if (error is null)
            {
                histogram?.RecordValue(elapsed);
            }
            else if (errors is not null)
            {
                errors[error] = errors.GetValueOrDefault(error) + 1;
            }
        }
    }
}
