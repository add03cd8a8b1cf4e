namespace Inference.Server.Scheduling;

/// <summary>What happens to a request whose queue timeout expires (Triton's ModelQueuePolicy.TimeoutAction).</summary>
public enum TimeoutAction
{
    /// <summary>Fail it with "Request timeout expired".</summary>
    Reject = 0,
    /// <summary>Keep it, but schedule it after every request that has not timed out.</summary>
    Delay = 1,
}

/// <summary>Triton's ModelQueuePolicy. Zeroes mean "no limit" / "no timeout".</summary>
public sealed record QueuePolicy(
    TimeoutAction TimeoutAction = TimeoutAction.Reject,
    ulong DefaultTimeoutMicroseconds = 0,
    bool AllowTimeoutOverride = false,
    uint MaxQueueSize = 0);

/// <summary>
/// The scheduling part of a model config, as an immutable snapshot with Triton's semantics.
/// <see cref="DynamicBatching"/> false means each request runs alone on the next free instance.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>Triton's max_batch_size; 0 means the model does not batch (each request is one execution).</summary>
    public int MaxBatchSize { get; init; }

    public bool DynamicBatching { get; init; }

    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    /// <summary>How long a batch may wait for more requests before it runs anyway.</summary>
    public long MaxQueueDelayMicroseconds { get; init; }

    /// <summary>Responses complete in the order requests were accepted.</summary>
    public bool PreserveOrdering { get; init; }

    /// <summary>Number of priority levels (0 = a single level). Level 1 is the highest.</summary>
    public uint PriorityLevels { get; init; }

    public uint DefaultPriorityLevel { get; init; }

    public QueuePolicy DefaultQueuePolicy { get; init; } = new();

    /// <summary>Per-level overrides of <see cref="DefaultQueuePolicy"/>.</summary>
    public IReadOnlyDictionary<uint, QueuePolicy> PriorityQueuePolicy { get; init; } = new Dictionary<uint, QueuePolicy>();
}
