namespace Inference.Server.Scheduling;

/// <summary>
/// preserve_ordering: releases completed requests in the order they were dispatched (Triton keeps the
/// order of requests sent to the backend). Requests that fail while still queued (timeout, cancellation)
/// never enter it. Thread-safe: its own lock, which may be taken while holding the scheduler's lock
/// (never the other way round).
/// </summary>
internal sealed class ResponseOrderer
{
    private readonly Lock _lock = new();
    private QueuedRequest? _head;
    private QueuedRequest? _tail;

    /// <summary>Appends a request that was just taken into a batch.</summary>
    public void Add(QueuedRequest node)
    {
        lock (_lock)
        {
            node.NextInOrder = null;
            if (_tail is null)
            {
                _head = node;
            }
            else
            {
                _tail.NextInOrder = node;
            }
            _tail = node;
        }
    }

    /// <summary>
    /// Marks <paramref name="batch"/>'s results ready (the result fields are already set) and calls
    /// <paramref name="release"/> for every request at the head of the order whose result is ready, in order,
    /// under the orderer's lock so that releases from different instance threads never interleave.
    /// </summary>
    public void Complete(List<QueuedRequest> batch, Action<QueuedRequest> release)
    {
        lock (_lock)
        {
            foreach (var node in batch)
            {
                node.ResultReady = true;
            }
            while (_head is { ResultReady: true } head)
            {
                _head = head.NextInOrder;
                if (_head is null)
                {
                    _tail = null;
                }
                head.NextInOrder = null;
                release(head);
            }
        }
    }
}
