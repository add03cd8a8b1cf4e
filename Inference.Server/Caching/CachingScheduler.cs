using Inference.Server.Core;
using Inference.Server.Scheduling;

namespace Inference.Server.Caching;

/// <summary>
/// The response cache in front of one model version's scheduler (Triton looks the cache up when a request is enqueued):
/// a hit is answered at once from the <see cref="ResponseCache"/> without queueing or executing; a miss goes to the
/// inner scheduler and, when it succeeds, its response is stored. Failed requests are never cached. Statistics follow
/// Triton's: a hit counts as a success with its lookup time in <c>cache_hit</c>; a miss counts in <c>cache_miss</c>
/// with its lookup and insertion time.
/// </summary>
public sealed class CachingScheduler(IScheduler inner, ResponseCache cache, long version, ModelStatistics statistics, TimeProvider timeProvider)
    : IScheduler
{
    public int InflightCount => inner.InflightCount;

    public int QueuedCount => inner.QueuedCount;

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = ResponseCacheKey.Compute(request, version);
        if (cache.TryGet(key, request.ModelName, version, request.Id, out var lookupNs) is { } cached)
        {
            var now = timeProvider.GetTimestamp();
            var requestNs = request.ReceivedTimestamp != 0 && now > request.ReceivedTimestamp
                ? timeProvider.GetElapsedTime(request.ReceivedTimestamp, now).Ticks * 100
                : lookupNs;
            statistics.RecordCacheHit(requestNs, lookupNs);
            request.Dispose();
            return ValueTask.FromResult(InferenceResult.Success(cached));
        }
        var pending = inner.InferAsync(request);
        return pending.IsCompletedSuccessfully ? ValueTask.FromResult(Store(pending.Result, key, lookupNs)) : AwaitAndStore(pending, key, lookupNs);
    }

    private async ValueTask<InferenceResult> AwaitAndStore(ValueTask<InferenceResult> pending, ResponseCacheKey key, long lookupNs) =>
        Store(await pending.ConfigureAwait(false), key, lookupNs);

    private InferenceResult Store(InferenceResult result, in ResponseCacheKey key, long lookupNs)
    {
        if (result.Response is { } response)
        {
            cache.TryAdd(key, response, out var insertNs);
            statistics.RecordCacheMiss(lookupNs + insertNs);
        }
        return result;
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => inner.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
