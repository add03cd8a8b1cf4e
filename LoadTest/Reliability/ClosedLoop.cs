using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using LoadTest.Stats;

namespace LoadTest.Reliability;

/// <summary>Counts of a load run by how requests ended, by label, and the latency of the served ones.</summary>
public sealed class LoadTally
{
    private readonly ConcurrentDictionary<string, long> _labels = new(StringComparer.Ordinal);
    private readonly LongHistogram _latency = LatencySummary.NewHistogram();
    private long _ok, _rejected, _error, _lost;

    public long Ok => Interlocked.Read(ref _ok);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Errors => Interlocked.Read(ref _error);

    public long Lost => Interlocked.Read(ref _lost);

    public long Total => Ok + Rejected + Errors + Lost;

    /// <summary>Requests by label (<c>ok</c>, <c>http-503</c>, <c>timeout</c>, ...).</summary>
    public IReadOnlyDictionary<string, long> ByLabel => new SortedDictionary<string, long>(_labels, StringComparer.Ordinal);

    /// <summary>Latency of served requests.</summary>
    public LatencySummary Accepted
    {
        get
        {
            lock (_latency)
            {
                return LatencySummary.From(_latency);
            }
        }
    }

    public void Record(LoadResult result, long elapsedTicks)
    {
        _labels.AddOrUpdate(result.Label, 1, (_, n) => n + 1);
        switch (result.Kind)
        {
            case LoadResultKind.Ok:
                Interlocked.Increment(ref _ok);
                var us = Math.Max(1, elapsedTicks * 1_000_000 / Stopwatch.Frequency);
                lock (_latency)
                {
                    _latency.RecordValue(Math.Min(us, _latency.HighestTrackableValue));
                }
                break;
            case LoadResultKind.Rejected: Interlocked.Increment(ref _rejected); break;
            case LoadResultKind.Error: Interlocked.Increment(ref _error); break;
            default: Interlocked.Increment(ref _lost); break;
        }
    }

    /// <summary><c>label=count</c> pairs, most frequent first.</summary>
    public string DescribeLabels() => string.Join(" ", ByLabel.OrderByDescending(p => p.Value).Select(p => $"{p.Key}={p.Value}"));
}

/// <summary>
/// A closed loop: <c>concurrency</c> workers, each sending its next request as soon as its last one ended, spread over
/// the clients round-robin. Stopping lets every request in flight finish (each has its own timeout), so nothing is
/// cancelled by the suite itself and every request is counted.
/// </summary>
public static class ClosedLoop
{
    /// <param name="onRequest">Called for every request with its start and end (<see cref="Stopwatch"/> ticks).</param>
    /// <param name="stopEarly">Checked before each request: true ends the worker.</param>
    /// <param name="pauseAfterLoss">A worker whose request was lost waits this long before the next (a server that is
    /// gone refuses connections at once; without a pause the loop would only count refusals).</param>
    public static async Task<LoadTally> RunAsync(IReadOnlyList<ILoadClient> clients, int concurrency, TimeSpan duration, TimeSpan timeout,
        CancellationToken cancellationToken, Action<long, long, LoadResult>? onRequest = null, Func<bool>? stopEarly = null,
        TimeSpan pauseAfterLoss = default)
    {
        var tally = new LoadTally();
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var client = clients[i % clients.Count];
            while (Stopwatch.GetTimestamp() < end && !cancellationToken.IsCancellationRequested && stopEarly?.Invoke() != true)
            {
                var start = Stopwatch.GetTimestamp();
                LoadResult result;
                try
                {
                    result = await client.SendAsync(timeout, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Recorded as that request's result (the category's checks see it, with the exception's name),
                    // where letting it out would end the category with the exception and nothing else.
                    result = LoadResult.FromException(client.Protocol, e);
                }
                var stop = Stopwatch.GetTimestamp();
                tally.Record(result, stop - start);
                onRequest?.Invoke(start, stop, result);
                if (result.Kind == LoadResultKind.Lost && pauseAfterLoss > TimeSpan.Zero)
                {
                    await Task.Delay(pauseAfterLoss, cancellationToken).ConfigureAwait(false);
                }
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll(workers).ConfigureAwait(false);
        return tally;
    }
}
