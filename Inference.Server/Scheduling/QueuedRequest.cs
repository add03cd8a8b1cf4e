using Inference.Server.Core;

namespace Inference.Server.Scheduling;

/// <summary>Where a <see cref="QueuedRequest"/> is in its life; changed only under the scheduler's lock.</summary>
internal enum QueuedRequestState
{
    /// <summary>Accepted, not yet visible to the dispatch threads.</summary>
    New,
    /// <summary>In one of the priority queues.</summary>
    Queued,
    /// <summary>Taken into a batch: the dispatch thread that took it completes it.</summary>
    Dispatched,
    /// <summary>Completed (or owned by whoever is completing it outside the lock).</summary>
    Done,
}

/// <summary>
/// One accepted request inside the scheduler: queue node and completion source in one allocation.
/// All mutable fields are guarded by the scheduler's lock, except the result fields, which belong to the
/// dispatch thread (or the response orderer's lock) once <see cref="State"/> is <see cref="QueuedRequestState.Dispatched"/>.
/// </summary>
internal sealed class QueuedRequest(InferenceRequest request, long enqueueTimestamp)
    : TaskCompletionSource<InferenceResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public InferenceRequest Request { get; } = request;

    /// <summary>Timestamp (TimeProvider ticks) when the scheduler accepted the request.</summary>
    public long EnqueueTimestamp { get; } = enqueueTimestamp;

    public int Rows { get; } = Math.Max(request.BatchSize, 1);

    public QueuedRequestState State;

    /// <summary>The cancellation callback fired before the request was queued.</summary>
    public bool CancelRequested;

    /// <summary>Index of its priority level (0 = level 1).</summary>
    public int Level;

    /// <summary>Timestamp at which its queue timeout expires; <see cref="long.MaxValue"/> = never.</summary>
    public long Deadline = long.MaxValue;

    /// <summary>Its timeout expired under action DELAY: it waits behind the requests that have not timed out.</summary>
    public bool Delayed;

    public CancellationTokenRegistration Registration;

    // Intrusive list links, owned by RequestList.
    public RequestList? List;
    public QueuedRequest? Prev;
    public QueuedRequest? Next;

    // Set by the dispatch thread when its batch completes.
    public long BatchStartTimestamp;
    public InferenceResult Result;
    public FailureReason? FailureReason;
    public ExecutionTimings Timings;
    public bool ResultReady;

    /// <summary>Next in dispatch order, for the response orderer.</summary>
    public QueuedRequest? NextInOrder;
}
