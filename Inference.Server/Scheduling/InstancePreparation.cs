using Inference.Server.Core;

namespace Inference.Server.Scheduling;

/// <summary>
/// A scheduler's readiness: each instance's thread calls <see cref="Run"/> once before it takes requests, which runs
/// <see cref="IModelInstance.PrepareOnExecutingThread"/> and then the scheduler's prepare step (the model's warmup).
/// <see cref="Completed"/> completes when every instance has run it, with the first error (or exception) of any, or null.
/// Thread-safe: the instance threads call <see cref="Run"/> concurrently.
/// </summary>
internal sealed class InstancePreparation(int instances, Func<IModelInstance, InferenceError?>? prepare)
{
    private readonly TaskCompletionSource<InferenceError?> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _unprepared = instances;
    private InferenceError? _firstError;

    public Task<InferenceError?> Completed => _completed.Task;

    /// <summary>Prepares <paramref name="instance"/> on the calling (its executing) thread.</summary>
    public void Run(IModelInstance instance)
    {
        InferenceError? error;
        try
        {
            instance.PrepareOnExecutingThread();
            error = prepare?.Invoke(instance);
        }
        catch (Exception e)
        {
            error = new InferenceError(ErrorCode.Internal, $"instance '{instance.Name}' failed to prepare: {e.Message}");
        }
        if (error is not null)
        {
            Interlocked.CompareExchange(ref _firstError, error, null);
        }
        if (Interlocked.Decrement(ref _unprepared) == 0)
        {
            _completed.TrySetResult(Volatile.Read(ref _firstError));
        }
    }
}
