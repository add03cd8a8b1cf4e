using Inference.Server.Core;

namespace Inference.Server.Scheduling.RateLimiting;

/// <summary>
/// A model instance whose executions go through the server's <see cref="RateLimiter"/>: each <see cref="Execute"/> waits
/// until the instance's resources are granted and gives them back when it returns. Owns the inner instance and the
/// registration.
/// </summary>
public sealed class RateLimitedInstance(IModelInstance inner, RateLimiter.Registration registration) : IModelInstance
{
    public IModelInstance Inner { get; } = inner;

    public string Name => Inner.Name;

    public string Device => Inner.Device;

    public IReadOnlyList<int> ExactBatchSizes => Inner.ExactBatchSizes;

    public void PrepareOnExecutingThread() => Inner.PrepareOnExecutingThread();

    public void Execute(IReadOnlyList<InferenceRequest> requests, InferenceResponse[] responses, ref ExecutionTimings timings)
    {
        var limiter = registration.Limiter;
        var ticket = limiter.Acquire(registration);
        limiter.EnterExecution(registration);
        try
        {
            Inner.Execute(requests, responses, ref timings);
        }
        finally
        {
            limiter.ExitExecution(registration);
            limiter.Release(ticket);
        }
    }

    public void Dispose()
    {
        registration.Dispose();
        Inner.Dispose();
    }
}
