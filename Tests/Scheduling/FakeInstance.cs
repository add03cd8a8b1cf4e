using System.Collections.Concurrent;
using Inference.Server.Core;
using Inference.Server.Scheduling;

namespace Inference.Tests.Scheduling;

/// <summary>
/// A model instance for scheduler tests: records the request ids of every batch, answers each request with an
/// empty response carrying its id, can hold every execution until the test allows it, and can throw.
/// </summary>
internal sealed class FakeInstance(string name = "fake_0", bool blocking = false) : IModelInstance
{
    private static readonly TimeSpan GateTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _permits = new(0);
    private readonly SemaphoreSlim _entered = new(0);
    private int _executions;
    private int _active;

    public string Name { get; } = name;

    public string Device => "cpu";

    /// <summary>Request ids of each executed batch, in execution order.</summary>
    public ConcurrentQueue<string[]> Batches { get; } = new();

    /// <summary>Throws this from the execution with the given 0-based index.</summary>
    public Func<int, Exception?> FailWhen { get; set; } = static _ => null;

    public ExecutionTimings Timings { get; set; } = new() { ComputeInputNs = 10, ComputeInferNs = 100, ComputeOutputNs = 20 };

    /// <summary>Runs inside every execution (after recording it), e.g. to spend some time.</summary>
    public Action? Work { get; init; }

    /// <summary>Also released whenever an execution starts, to learn which of several instances was called.</summary>
    public SemaphoreSlim? SharedEntered { get; init; }

    /// <summary>Set when Execute was ever entered concurrently.</summary>
    public bool ConcurrentCallSeen { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>Managed thread id of the <see cref="PrepareOnExecutingThread"/> call (0: not called).</summary>
    public int PreparedOnThread { get; private set; }

    /// <summary>Managed thread ids that called <see cref="Execute"/>.</summary>
    public ConcurrentBag<int> ExecutedOnThreads { get; } = [];

    /// <summary>What <see cref="IModelInstance.ExactBatchSizes"/> answers.</summary>
    public IReadOnlyList<int> ExactBatchSizes { get; init; } = [];

    /// <summary>Thrown from <see cref="PrepareOnExecutingThread"/> when set.</summary>
    public Exception? PrepareFailure { get; init; }

    public void PrepareOnExecutingThread()
    {
        Assert.True(Batches.IsEmpty, "prepared after an execution");
        PreparedOnThread = Environment.CurrentManagedThreadId;
        if (PrepareFailure is not null)
        {
            throw PrepareFailure;
        }
    }

    /// <summary>Lets <paramref name="count"/> held executions finish.</summary>
    public void Allow(int count = 1) => _permits.Release(count);

    /// <summary>Waits until an execution has started (one signal per execution).</summary>
    public async Task WaitEnteredAsync()
    {
        Assert.True(await _entered.WaitAsync(TimeSpan.FromSeconds(10)), $"instance {Name} was not called");
    }

    public void Execute(IReadOnlyList<InferenceRequest> requests, InferenceResponse[] responses, ref ExecutionTimings timings)
    {
        if (Interlocked.Increment(ref _active) > 1)
        {
            ConcurrentCallSeen = true;
        }
        try
        {
            ExecutedOnThreads.Add(Environment.CurrentManagedThreadId);
            var index = Interlocked.Increment(ref _executions) - 1;
            var ids = new string[requests.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = requests[i].Id;
            }
            Batches.Enqueue(ids);
            _entered.Release();
            SharedEntered?.Release();
            if (blocking && !_permits.Wait(GateTimeout))
            {
                throw new TimeoutException("test never allowed the execution");
            }
            Work?.Invoke();
            if (FailWhen(index) is { } failure)
            {
                throw failure;
            }
            for (var i = 0; i < requests.Count; i++)
            {
                responses[i] = new InferenceResponse { ModelName = requests[i].ModelName, ModelVersion = 1, Id = requests[i].Id };
            }
            timings = Timings;
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    public void Dispose() => Disposed = true;
}
