namespace Inference.Server.Core;

/// <summary>
/// One inference request as every front-end hands it to the model manager. The request owns its input
/// tensors: whoever holds the request last disposes it (the scheduler, once the request completes).
/// </summary>
public sealed class InferenceRequest : IDisposable
{
    public required string ModelName { get; init; }

    /// <summary>Requested version; -1 picks the highest ready version allowed by the version policy.</summary>
    public long ModelVersion { get; init; } = -1;

    public string Id { get; init; } = "";

    public List<InferTensor> Inputs { get; } = [];

    /// <summary>Outputs to return; empty means all of the model's outputs.</summary>
    public List<RequestedOutput> Outputs { get; } = [];

    /// <summary>Priority level (1 is highest); 0 means the model's default level.</summary>
    public uint Priority { get; init; }

    /// <summary>Queue timeout in microseconds; 0 means the queue policy's default.</summary>
    public ulong TimeoutMicroseconds { get; init; }

    /// <summary>Other request parameters, passed through untouched.</summary>
    public Dictionary<string, object>? Parameters { get; init; }

    /// <summary>Cancelled when the client goes away; a queued request is then dropped.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Rows this request contributes to a batch (its first dimension; 1 for non-batching models).
    /// Set by validation before the request is enqueued.</summary>
    public int BatchSize { get; set; } = 1;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the front-end received the request.</summary>
    public long ReceivedTimestamp { get; init; }

    /// <summary>The request's trace when the trace extension sampled it, else null (<see cref="Tracing.TraceManager"/>).
    /// Owned by the front-end, which completes it; the server only records timestamps into it.</summary>
    public Tracing.RequestTrace? Trace { get; set; }

    public InferTensor? FindInput(string name)
    {
        foreach (var t in Inputs)
        {
            if (t.Name == name)
            {
                return t;
            }
        }
        return null;
    }

    public void Dispose()
    {
        foreach (var t in Inputs)
        {
            t.Dispose();
        }
    }
}

/// <summary>An output the client asked for; <paramref name="ClassificationCount"/> &gt; 0 asks for the
/// classification extension (top-N "score:index:label" strings instead of the raw tensor).</summary>
public sealed record RequestedOutput(string Name, int ClassificationCount = 0);
