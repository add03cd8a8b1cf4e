namespace Inference.Server.Scheduling;

/// <summary>
/// The queued requests of one model: one FIFO per priority level plus, per level, the FIFO of requests
/// whose timeout expired under <see cref="TimeoutAction.Delay"/>. Scheduling order is level 1 first; within
/// a level, requests that have not timed out first, then the delayed ones (Triton: a delayed request waits
/// for every request of the same or a higher priority that has not timed out). Applies each level's
/// <see cref="QueuePolicy"/>: max queue size at enqueue, timeouts through <see cref="SweepExpired"/>.
/// Not thread-safe: guarded by the scheduler's lock.
/// </summary>
internal sealed class PriorityRequestQueue
{
    private readonly Level[] _levels;
    private readonly int _defaultLevel;
    private readonly long _frequency;

    // Queue deadlines, earliest first. Entries of requests that left the queue (or were delayed) stay until
    // they reach the top and are skipped there.
    private readonly PriorityQueue<QueuedRequest, long> _deadlines = new();

    /// <param name="options">Priority levels are used only with dynamic batching; otherwise there is one level.</param>
    /// <param name="timestampFrequency">Ticks per second of the timestamps used for deadlines.</param>
    public PriorityRequestQueue(SchedulerOptions options, long timestampFrequency)
    {
        _frequency = timestampFrequency;
        var count = options.DynamicBatching && options.PriorityLevels > 0 ? (int)options.PriorityLevels : 1;
        _levels = new Level[count];
        for (var i = 0; i < count; i++)
        {
            var policy = options.DynamicBatching && options.PriorityLevels > 0
                ? options.PriorityQueuePolicy.GetValueOrDefault((uint)(i + 1), options.DefaultQueuePolicy)
                : options.DefaultQueuePolicy;
            _levels[i] = new Level(policy);
        }
        // An invalid default level (config validation should prevent it) falls back to the lowest priority.
        var defaultLevel = options.DefaultPriorityLevel;
        _defaultLevel = defaultLevel >= 1 && defaultLevel <= count ? (int)defaultLevel - 1 : count - 1;
    }

    /// <summary>Requests queued, delayed ones included.</summary>
    public int Count { get; private set; }

    /// <summary>The first request in scheduling order, or null.</summary>
    public QueuedRequest? First
    {
        get
        {
            foreach (var level in _levels)
            {
                var first = level.Main.First ?? level.Delayed.First;
                if (first is not null)
                {
                    return first;
                }
            }
            return null;
        }
    }

    /// <summary>The level index (0-based) a request of <paramref name="priority"/> goes to: 0 or out of range means the default.</summary>
    public int LevelOf(uint priority) =>
        priority >= 1 && priority <= _levels.Length ? (int)priority - 1 : _defaultLevel;

    /// <summary>
    /// Queues <paramref name="node"/> at the end of its level, with its deadline from the level's policy.
    /// Returns false, leaving it out, when that level already holds max_queue_size requests.
    /// </summary>
    public bool TryEnqueue(QueuedRequest node)
    {
        var levelIndex = LevelOf(node.Request.Priority);
        var level = _levels[levelIndex];
        var policy = level.Policy;
        if (policy.MaxQueueSize > 0 && level.Main.Count + level.Delayed.Count >= policy.MaxQueueSize)
        {
            return false;
        }
        node.Level = levelIndex;
        node.Deadline = DeadlineOf(node, policy);
        node.State = QueuedRequestState.Queued;
        level.Main.AddLast(node);
        Count++;
        if (node.Deadline != long.MaxValue)
        {
            _deadlines.Enqueue(node, node.Deadline);
        }
        return true;
    }

    /// <summary>The request after <paramref name="node"/> in scheduling order, or null.</summary>
    public QueuedRequest? NextOf(QueuedRequest node)
    {
        if (node.Next is not null)
        {
            return node.Next;
        }
        if (!node.Delayed && _levels[node.Level].Delayed.First is { } delayed)
        {
            return delayed;
        }
        for (var i = node.Level + 1; i < _levels.Length; i++)
        {
            var first = _levels[i].Main.First ?? _levels[i].Delayed.First;
            if (first is not null)
            {
                return first;
            }
        }
        return null;
    }

    /// <summary>Takes <paramref name="node"/> out of the queue (dispatch, cancellation, timeout).</summary>
    public void Remove(QueuedRequest node)
    {
        node.List!.Remove(node);
        Count--;
    }

    /// <summary>The earliest pending queue deadline, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline()
    {
        while (_deadlines.TryPeek(out var node, out var deadline))
        {
            if (!IsStale(node, deadline))
            {
                return deadline;
            }
            _deadlines.Dequeue();
        }
        return long.MaxValue;
    }

    /// <summary>
    /// Applies the timeout action to every queued request whose deadline is at or before <paramref name="now"/>:
    /// REJECT removes it, marks it <see cref="QueuedRequestState.Done"/> and adds it to <paramref name="rejected"/>
    /// for the caller to complete; DELAY moves it behind the requests of its level that have not timed out.
    /// </summary>
    public void SweepExpired(long now, List<QueuedRequest> rejected)
    {
        while (_deadlines.TryPeek(out var node, out var deadline) && deadline <= now)
        {
            _deadlines.Dequeue();
            if (IsStale(node, deadline))
            {
                continue;
            }
            var level = _levels[node.Level];
            level.Main.Remove(node);
            if (level.Policy.TimeoutAction == TimeoutAction.Delay)
            {
                node.Delayed = true;
                level.Delayed.AddLast(node);
            }
            else
            {
                Count--;
                node.State = QueuedRequestState.Done;
                rejected.Add(node);
            }
        }
    }

    private static bool IsStale(QueuedRequest node, long deadline) =>
        node.State != QueuedRequestState.Queued || node.Delayed || node.Deadline != deadline;

    private long DeadlineOf(QueuedRequest node, QueuePolicy policy)
    {
        // Triton: when overrides are allowed a request may lower the default timeout, never raise it; with a default
        // of 0 (no timeout) there is nothing to lower, so the request's timeout is ignored.
        var timeoutUs = policy.DefaultTimeoutMicroseconds;
        var requested = node.Request.TimeoutMicroseconds;
        if (policy.AllowTimeoutOverride && requested != 0 && requested < timeoutUs)
        {
            timeoutUs = requested;
        }
        if (timeoutUs == 0)
        {
            return long.MaxValue;
        }
        var ticks = BatchFormer.MicrosecondsToTicks(timeoutUs, _frequency);
        return ticks >= long.MaxValue - node.EnqueueTimestamp ? long.MaxValue : node.EnqueueTimestamp + ticks;
    }

    private sealed class Level(QueuePolicy policy)
    {
        public QueuePolicy Policy { get; } = policy;

        public RequestList Main { get; } = new();

        public RequestList Delayed { get; } = new();
    }
}
