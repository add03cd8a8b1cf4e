using System.Buffers;
using Inference.Server.Core;

namespace Inference.Server.Caching;

/// <summary>
/// Triton's <c>local</c> response cache: one in-process store shared by every model that enables
/// <c>response_cache</c>, bounded by <see cref="CapacityBytes"/> and evicting the least recently used entries to make
/// room. An entry holds copies of a successful response's output tensors in arrays rented from
/// <see cref="ArrayPool{T}.Shared"/> (given back on eviction); a hit copies them into pooled buffers that the response
/// owns, so no caller ever shares a buffer with the cache. An entry counts its bytes plus a small fixed overhead per
/// tensor; one larger than the whole cache is not stored. Thread-safe: one lock guards the index, the LRU order and the
/// copies in and out. Keeps the server-wide counters that Triton's local cache publishes.
/// </summary>
public sealed class ResponseCache
{
    /// <summary>Bytes an entry is charged beyond its tensors' data, and each tensor beyond its data.</summary>
    public const int EntryOverheadBytes = 128;
    public const int TensorOverheadBytes = 64;

    private readonly Dictionary<ResponseCacheKey, LinkedListNode<Entry>> _index = [];
    private readonly LinkedList<Entry> _lru = new();
    private readonly Lock _lock = new();
    private long _usedBytes;
    private long _lookups;
    private long _hits;
    private long _misses;
    private long _evictions;
    private long _lookupNs;
    private long _insertionNs;

    /// <param name="capacityBytes">The cache size (<c>--cache-config local,size=N</c>); 0: no cache.</param>
    public ResponseCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    public long CapacityBytes { get; }

    /// <summary>A cache is configured: models with <c>response_cache { enable: true }</c> use it.</summary>
    public bool IsEnabled => CapacityBytes > 0;

    public long UsedBytes => Volatile.Read(ref _usedBytes);

    public int EntryCount
    {
        get
        {
            lock (_lock)
            {
                return _index.Count;
            }
        }
    }

    public long LookupCount => Volatile.Read(ref _lookups);

    public long HitCount => Volatile.Read(ref _hits);

    public long MissCount => Volatile.Read(ref _misses);

    public long EvictionCount => Volatile.Read(ref _evictions);

    /// <summary>Cumulative time of lookups (hits and misses), nanoseconds.</summary>
    public long LookupNs => Volatile.Read(ref _lookupNs);

    /// <summary>Cumulative time of insertions, nanoseconds.</summary>
    public long InsertionNs => Volatile.Read(ref _insertionNs);

    /// <summary>Used bytes over capacity, 0.0 to 1.0 (Triton's nv_cache_util).</summary>
    public double Utilization => IsEnabled ? (double)UsedBytes / CapacityBytes : 0;

    /// <summary>On a hit, a response for <paramref name="modelName"/> version <paramref name="version"/> with copies of the
    /// cached outputs (the caller owns it) and the entry becomes the most recently used; null on a miss.
    /// <paramref name="elapsedNs"/> is the lookup's duration, which the counters include.</summary>
    public InferenceResponse? TryGet(in ResponseCacheKey key, string modelName, long version, string id, out long elapsedNs)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        InferenceResponse? response = null;
        lock (_lock)
        {
            if (_index.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                response = new InferenceResponse { ModelName = modelName, ModelVersion = version, Id = id };
                foreach (var t in node.Value.Tensors)
                {
                    var buffer = PooledBuffer.Rent(t.Length);
                    t.Data.AsSpan(0, t.Length).CopyTo(buffer.Span);
                    response.Outputs.Add(new InferTensor(t.Name, t.DataType, (long[])t.Shape.Clone(), buffer.Memory, buffer));
                }
            }
        }
        elapsedNs = ElapsedNs(start);
        Interlocked.Increment(ref _lookups);
        Interlocked.Increment(ref response is null ? ref _misses : ref _hits);
        Interlocked.Add(ref _lookupNs, elapsedNs);
        return response;
    }

    /// <summary>Stores copies of <paramref name="response"/>'s outputs under <paramref name="key"/>, evicting the least
    /// recently used entries as needed. Returns false, storing nothing, when the key is already cached or the entry is
    /// larger than the cache. <paramref name="elapsedNs"/> is the insertion's duration.</summary>
    public bool TryAdd(in ResponseCacheKey key, InferenceResponse response, out long elapsedNs)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var added = Add(key, response);
        elapsedNs = ElapsedNs(start);
        Interlocked.Add(ref _insertionNs, elapsedNs);
        return added;
    }

    private bool Add(in ResponseCacheKey key, InferenceResponse response)
    {
        long size = EntryOverheadBytes;
        foreach (var t in response.Outputs)
        {
            size += t.Data.Length + TensorOverheadBytes + (2L * t.Name.Length) + (8L * t.Shape.Length);
        }
        if (size > CapacityBytes)
        {
            return false;
        }
        lock (_lock)
        {
            if (_index.ContainsKey(key))
            {
                return false;
            }
            while (_usedBytes + size > CapacityBytes && _lru.Last is { } oldest)
            {
                Remove(oldest);
                _evictions++;
            }
            var tensors = new CachedTensor[response.Outputs.Count];
            for (var i = 0; i < tensors.Length; i++)
            {
                var t = response.Outputs[i];
                var data = ArrayPool<byte>.Shared.Rent(Math.Max(1, t.Data.Length));
                t.Data.Span.CopyTo(data);
                tensors[i] = new CachedTensor(t.Name, t.DataType, (long[])t.Shape.Clone(), data, t.Data.Length);
            }
            _index[key] = _lru.AddFirst(new Entry(key, tensors, size));
            Volatile.Write(ref _usedBytes, _usedBytes + size);
            return true;
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _index.Remove(node.Value.Key);
        Volatile.Write(ref _usedBytes, _usedBytes - node.Value.SizeBytes);
        foreach (var t in node.Value.Tensors)
        {
            ArrayPool<byte>.Shared.Return(t.Data);
        }
    }

    private static long ElapsedNs(long start) => System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks * 100;

    private sealed record CachedTensor(string Name, DataType DataType, long[] Shape, byte[] Data, int Length);

    private sealed record Entry(ResponseCacheKey Key, CachedTensor[] Tensors, long SizeBytes);
}
