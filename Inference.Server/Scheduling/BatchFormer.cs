namespace Inference.Server.Scheduling;

/// <summary>
/// What <see cref="BatchFormer.Decide"/> concluded: run the first <see cref="RequestCount"/> candidates now,
/// or wait until <see cref="WaitUntil"/> (a <see cref="TimeProvider.GetTimestamp"/> value) for more requests,
/// or do nothing because no candidate was offered.
/// </summary>
public readonly record struct BatchDecision(int RequestCount, long WaitUntil)
{
    public static BatchDecision Idle => new(0, long.MaxValue);

    public bool IsRun => RequestCount > 0;

    public bool IsWait => RequestCount == 0 && WaitUntil != long.MaxValue;

    public bool IsIdle => RequestCount == 0 && WaitUntil == long.MaxValue;
}

/// <summary>
/// Triton's dynamic batching policy, without queues or threads: which queued requests form the next batch
/// and when it runs. The caller offers the queued requests in scheduling order with <see cref="TryAdd"/>
/// (stopping at the first <c>false</c>), then asks <see cref="Decide"/>; the batch is always a prefix of the
/// offered requests, and a request never splits.
/// <para>Rules (Triton's <c>DynamicBatchScheduler::GetDynamicBatch</c>): requests are added while their rows
/// sum to at most max_batch_size. If a prefix sums to a preferred batch size (max_batch_size when none is
/// configured) and the oldest offered request has not waited max_queue_delay, the largest such prefix runs at
/// once. Otherwise the batch runs when it cannot grow (the next request does not fit, or it reached the
/// largest preferred size), when the delay of its oldest request is exceeded, or at once when the delay is 0;
/// else the caller waits until the delay expires. Without batching every batch is exactly one request.</para>
/// <para>Beyond Triton: an instance that pads batches up to fixed sizes (captured CUDA graphs) gives them with
/// <see cref="UseExactBatchSizes"/>. A batch that is not one of them, and that would leave fewer rows behind by
/// shrinking to the size below than it would waste by padding to the size above, shrinks to that size (when a
/// prefix of whole requests sums to it); the rest stays queued for the next free instance. At saturation under
/// Triton's rules every batch is "everything that fits" (the delay is always exceeded), e.g. 131 rows padded to
/// 192: a third of the GPU time spent on padding.</para>
/// Not thread-safe: one instance per dispatch thread, reused through <see cref="Reset"/>.
/// </summary>
public sealed class BatchFormer
{
    private readonly bool _batching;
    private readonly int _maxBatchSize;
    private readonly bool[] _isPreferred;
    private readonly int _maxPreferred;
    private readonly long _delayTicks;
    private readonly int[] _prefixRows;
    private int[] _exactSizes = [];

    private int _rows;
    private int _count;
    private int _bestCount;
    private bool _full;
    private long _oldest;

    /// <param name="maxBatchSize">Triton's max_batch_size in rows; 0 (or <paramref name="dynamicBatching"/>
    /// false) makes every batch a single request.</param>
    /// <param name="dynamicBatching">Whether requests may be combined at all.</param>
    /// <param name="preferredBatchSizes">Preferred sizes in rows; sizes outside 1..max_batch_size are ignored.</param>
    /// <param name="maxQueueDelayTicks">max_queue_delay in <see cref="TimeProvider.GetTimestamp"/> ticks; 0 = no delay.</param>
    public BatchFormer(int maxBatchSize, bool dynamicBatching, IReadOnlyList<int> preferredBatchSizes, long maxQueueDelayTicks)
    {
        _batching = dynamicBatching && maxBatchSize > 0;
        _maxBatchSize = Math.Max(maxBatchSize, 0);
        _isPreferred = new bool[_maxBatchSize + 1];
        foreach (var size in preferredBatchSizes)
        {
            if (size > 0 && size <= _maxBatchSize)
            {
                _isPreferred[size] = true;
                _maxPreferred = Math.Max(_maxPreferred, size);
            }
        }
        if (_maxPreferred == 0)
        {
            _maxPreferred = _maxBatchSize;
        }
        _delayTicks = _batching ? Math.Max(maxQueueDelayTicks, 0) : 0;
        _prefixRows = new int[Math.Max(_maxBatchSize, 1) + 1];
        Reset();
    }

    /// <summary>Builds the former for <paramref name="options"/>, converting the delay with the provider's frequency.</summary>
    public static BatchFormer FromOptions(SchedulerOptions options, TimeProvider timeProvider) =>
        new(options.MaxBatchSize, options.DynamicBatching, options.PreferredBatchSizes,
            MicrosecondsToTicks((ulong)Math.Max(options.MaxQueueDelayMicroseconds, 0), timeProvider.TimestampFrequency));

    /// <summary>Converts microseconds to timestamp ticks, saturating at <see cref="long.MaxValue"/>.</summary>
    public static long MicrosecondsToTicks(ulong microseconds, long frequency)
    {
        var ticks = (UInt128)microseconds * (ulong)frequency / 1_000_000;
        return ticks > long.MaxValue ? long.MaxValue : (long)ticks;
    }

    /// <summary>The sizes the executing instance runs without padding (ascending order not required); empty: any.</summary>
    public void UseExactBatchSizes(IReadOnlyList<int> sizes) =>
        _exactSizes = [.. sizes.Where(s => s > 0 && s <= _maxBatchSize).Distinct().Order()];

    /// <summary>Requests offered so far that the batch could include.</summary>
    public int Count => _count;

    /// <summary>Rows of all offered requests.</summary>
    public int Rows => _rows;

    /// <summary>Starts a new batch.</summary>
    public void Reset()
    {
        _rows = 0;
        _count = 0;
        _bestCount = 0;
        _full = false;
        _oldest = long.MaxValue;
    }

    /// <summary>
    /// Offers the next queued request (<paramref name="rows"/> = its batch size, at least 1 is assumed;
    /// <paramref name="enqueueTimestamp"/> = when it was queued). Returns false when it does not fit: the batch is
    /// full and the caller stops offering. The first request of a batch is always accepted.
    /// </summary>
    public bool TryAdd(int rows, long enqueueTimestamp)
    {
        rows = Math.Max(rows, 1);
        if (_count > 0)
        {
            if (!_batching)
            {
                _full = true;
                return false;
            }
            if (_rows + rows > _maxPreferred && _bestCount == 0)
            {
                // Cannot grow to any preferred size: what is pending is the best preferred batch.
                _bestCount = _count;
            }
            if (_rows + rows > _maxBatchSize)
            {
                _full = true;
                return false;
            }
        }
        _rows += rows;
        _count++;
        _prefixRows[Math.Min(_count, _prefixRows.Length - 1)] = _rows;
        _oldest = Math.Min(_oldest, enqueueTimestamp);
        if (_batching && _rows <= _maxBatchSize && _isPreferred[_rows])
        {
            _bestCount = _count;
        }
        return true;
    }

    /// <summary>
    /// Decides on the requests offered since <see cref="Reset"/>, at time <paramref name="now"/> (timestamp ticks).
    /// <paramref name="flush"/> runs whatever is pending without waiting (used while draining on stop).
    /// </summary>
    public BatchDecision Decide(long now, bool flush = false)
    {
        if (_count == 0)
        {
            return BatchDecision.Idle;
        }
        if (!_batching)
        {
            return new BatchDecision(1, long.MaxValue);
        }
        var waited = now - _oldest;
        var delayExceeded = _delayTicks != 0 && waited >= _delayTicks;
        if (_bestCount != 0 && !delayExceeded)
        {
            return new BatchDecision(_bestCount, long.MaxValue);
        }
        if (flush)
        {
            return new BatchDecision(_count, long.MaxValue);
        }
        if (_full || _rows >= _maxPreferred || delayExceeded || _delayTicks == 0)
        {
            return new BatchDecision(ShrinkToExactSize(), long.MaxValue);
        }
        var until = _delayTicks >= long.MaxValue - 1 - _oldest ? long.MaxValue - 1 : _oldest + _delayTicks;
        return new BatchDecision(0, until);
    }

    /// <summary>The request count to run instead of all <see cref="Count"/> (see the class remarks).</summary>
    private int ShrinkToExactSize()
    {
        if (_exactSizes.Length == 0 || _count < 2)
        {
            return _count;
        }
        var i = Array.BinarySearch(_exactSizes, _rows);
        if (i >= 0)
        {
            return _count;
        }
        i = ~i;
        if (i == 0 || i == _exactSizes.Length)
        {
            // Below every size (padded regardless) or above all of them (runs as it is).
            return _count;
        }
        var down = _exactSizes[i - 1];
        var up = _exactSizes[i];
        if (_rows - down >= up - _rows)
        {
            return _count;
        }
        for (var k = _count - 1; k >= 1; k--)
        {
            if (_prefixRows[k] == down)
            {
                return k;
            }
            if (_prefixRows[k] < down)
            {
                break;
            }
        }
        return _count;
    }
}
