using System.Diagnostics.Metrics;
using Inference.Server.Caching;
using Inference.Server.Core;
using Inference.Server.Scheduling;

namespace Inference.Server.Telemetry;

/// <summary>
/// Triton's response cache metrics: per model version (only versions that use the cache), the hit and miss counts and
/// durations Triton's core reports; server-wide (only when the server has a cache), the gauges Triton's local cache
/// publishes. Observable instruments read <see cref="ModelStatistics"/> and the <see cref="ResponseCache"/> counters
/// when a reader collects; durations are microseconds.
/// </summary>
public sealed class ResponseCacheMetrics
{
    private readonly IInferenceServer _server;
    private readonly ResponseCache? _cache;

    public ResponseCacheMetrics(IMeterFactory meterFactory, IInferenceServer server, ResponseCache? cache = null)
    {
        _server = server;
        _cache = cache is { IsEnabled: true } ? cache : null;
        var meter = meterFactory.Create(MetricNames.Meter);
        PerModel(meter, MetricNames.CacheHitsPerModel, s => s.CacheHit.Count, "Number of response cache hits per model");
        PerModel(meter, MetricNames.CacheMissesPerModel, s => s.CacheMiss.Count, "Number of response cache misses per model");
        PerModel(meter, MetricNames.CacheHitDurationPerModel, s => s.CacheHit.TotalNs / 1000,
            "Cumulative time requests spend retrieving a cached response per model on cache hits (microseconds)");
        PerModel(meter, MetricNames.CacheMissDurationPerModel, s => s.CacheMiss.TotalNs / 1000,
            "Cumulative time requests spend looking up and inserting responses into the cache on a cache miss (microseconds)");
        meter.CreateObservableGauge(MetricNames.CacheUtil, () => Server(c => c.Utilization), unit: null, "Cache utilization [0.0 - 1.0]");
        ServerGauge(meter, MetricNames.CacheNumEntries, c => c.EntryCount, "Number of responses stored in response cache");
        ServerGauge(meter, MetricNames.CacheNumLookups, c => c.LookupCount, "Number of cache lookups in response cache");
        ServerGauge(meter, MetricNames.CacheNumHits, c => c.HitCount, "Number of cache hits in response cache");
        ServerGauge(meter, MetricNames.CacheNumMisses, c => c.MissCount, "Number of cache misses in response cache");
        ServerGauge(meter, MetricNames.CacheNumEvictions, c => c.EvictionCount, "Number of cache evictions in response cache");
        ServerGauge(meter, MetricNames.CacheLookupDuration, c => c.LookupNs / 1000,
            "Total cache lookup duration (hit and miss), in microseconds");
        ServerGauge(meter, MetricNames.CacheInsertionDuration, c => c.InsertionNs / 1000,
            "Total cache insertion duration, in microseconds");
    }

    private void PerModel(Meter meter, string name, Func<ModelStatistics, long> read, string description) =>
        meter.CreateObservableCounter(name, () => ObservePerModel(read), unit: null, description);

    private void ServerGauge(Meter meter, string name, Func<ResponseCache, long> read, string description) =>
        meter.CreateObservableGauge(name, () => Server(read), unit: null, description);

    private IEnumerable<Measurement<long>> ObservePerModel(Func<ModelStatistics, long> read)
    {
        if (_server.GetStatistics() is not { IsSuccess: true } r)
        {
            yield break;
        }
        foreach (var e in r.Value!)
        {
            if (e.Statistics.ResponseCacheEnabled)
            {
                yield return new Measurement<long>(read(e.Statistics),
                    new KeyValuePair<string, object?>(MetricNames.ModelLabel, e.Name),
                    new KeyValuePair<string, object?>(MetricNames.VersionLabel, e.Version));
            }
        }
    }

    private IEnumerable<Measurement<T>> Server<T>(Func<ResponseCache, T> read) where T : struct
    {
        if (_cache is { } c)
        {
            yield return new Measurement<T>(read(c));
        }
    }
}
