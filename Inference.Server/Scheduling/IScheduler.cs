using Inference.Server.Core;

namespace Inference.Server.Scheduling;

/// <summary>
/// Queues requests of one model version and runs them on its instances (Triton's scheduler.h in spirit).
/// </summary>
public interface IScheduler : IAsyncDisposable
{
    /// <summary>
    /// Enqueues a validated request (<see cref="InferenceRequest.BatchSize"/> set). Ownership passes to the
    /// scheduler, which disposes the request when it completes. Completes with the response, or with an
    /// error for expected failures (queue full, timeout, cancellation, backend failure); never throws for those.
    /// </summary>
    ValueTask<InferenceResult> InferAsync(InferenceRequest request);

    /// <summary>Requests accepted and not yet completed (queued + executing).</summary>
    int InflightCount { get; }

    /// <summary>Requests waiting in the queue.</summary>
    int QueuedCount { get; }

    /// <summary>Stops accepting new requests (they get <see cref="ErrorCode.Unavailable"/>), lets queued and
    /// executing ones finish, then stops the instance threads. Idempotent.</summary>
    Task StopAsync(CancellationToken cancellationToken = default);
}
