using Inference.Server.Core;
using Inference.Server.Scheduling;
using static Inference.Tests.Scheduling.SchedulerTestKit;

namespace Inference.Tests.Scheduling;

/// <summary>
/// Each instance is prepared (and warmed up) on its own scheduler thread, the thread that later executes it, before it
/// takes a request; <see cref="DynamicBatchScheduler.Prepared"/> reports the outcome. GPU instances rely on this:
/// ONNX Runtime keeps CUDA graphs per thread.
/// </summary>
public sealed class SchedulerPrepareTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly ModelStatistics _stats = new();

    private static SchedulerOptions Dynamic => new() { MaxBatchSize = 4, DynamicBatching = true };

    [Fact]
    public async Task Prepare_RunsOnTheExecutingThread_ThenTheCallback_BeforeAnyRequest()
    {
        var first = new FakeInstance("m_0");
        var second = new FakeInstance("m_1");
        var callbackThreads = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await using var scheduler = new DynamicBatchScheduler(Model, Dynamic, [first, second], _stats, TimeProvider.System,
            prepare: instance =>
            {
                Assert.NotEqual(0, ((FakeInstance)instance).PreparedOnThread);
                callbackThreads[instance.Name] = Environment.CurrentManagedThreadId;
                return null;
            });

        Assert.Null(await scheduler.Prepared.WaitAsync(Wait, TestContext.Current.CancellationToken));
        var results = Enumerable.Range(0, 40).Select(i => scheduler.InferAsync(Request($"r{i}")).AsTask()).ToArray();
        await Task.WhenAll(results).WaitAsync(Wait, TestContext.Current.CancellationToken);

        foreach (var instance in new[] { first, second })
        {
            Assert.Equal(callbackThreads[instance.Name], instance.PreparedOnThread);
            Assert.All(instance.ExecutedOnThreads, t => Assert.Equal(instance.PreparedOnThread, t));
        }
        Assert.NotEqual(first.PreparedOnThread, second.PreparedOnThread);
        Assert.NotEqual(Environment.CurrentManagedThreadId, first.PreparedOnThread);
    }

    [Fact]
    public async Task Prepared_ReportsAnInstanceThatThrows_ByName()
    {
        var good = new FakeInstance("m_0");
        var bad = new FakeInstance("m_1") { PrepareFailure = new InvalidOperationException("operation not permitted when stream is capturing") };
        await using var scheduler = new DynamicBatchScheduler(Model, Dynamic, [good, bad], _stats, TimeProvider.System);

        var error = await scheduler.Prepared.WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.NotNull(error);
        Assert.Equal(ErrorCode.Internal, error.Code);
        Assert.Contains("'m_1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("stream is capturing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prepared_ReportsTheCallbacksError()
    {
        var warmupError = new InferenceError(ErrorCode.InvalidArgument, "warmup 'w': input 'x': no such file");
        await using var scheduler = new DynamicBatchScheduler(Model, Dynamic, [new FakeInstance()], _stats, TimeProvider.System,
            prepare: _ => warmupError);

        Assert.Same(warmupError, await scheduler.Prepared.WaitAsync(Wait, TestContext.Current.CancellationToken));
    }
}
