using Inference.Server.Core;
using Inference.Server.Scheduling;
using static Inference.Tests.Scheduling.SchedulerTestKit;

namespace Inference.Tests.Scheduling;

public sealed class DynamicBatchSchedulerTests
{
    private readonly ObservableTimeProvider _time = new();
    private readonly ModelStatistics _stats = new();

    private DynamicBatchScheduler Scheduler(SchedulerOptions options, params FakeInstance[] instances) =>
        new(Model, options, instances, _stats, _time);

    private ValueTask<InferenceResult> Infer(IScheduler scheduler, string id, int batchSize = 1, uint priority = 0,
        ulong timeoutUs = 0, CancellationToken? cancellationToken = null, DisposalCounter? disposals = null) =>
        scheduler.InferAsync(Request(id, batchSize, priority, timeoutUs, cancellationToken, disposals, _time));

    private static SchedulerOptions Dynamic(int maxBatchSize, long delayUs = 0, int[]? preferred = null) => new()
    {
        MaxBatchSize = maxBatchSize,
        DynamicBatching = true,
        MaxQueueDelayMicroseconds = delayUs,
        PreferredBatchSizes = preferred ?? [],
    };

    /// <summary>Starts request "r0" on a blocking instance and waits until it executes, so that later requests queue.</summary>
    private async Task<ValueTask<InferenceResult>> Occupy(IScheduler scheduler, FakeInstance instance, int batchSize = 1)
    {
        var first = Infer(scheduler, "r0", batchSize);
        await instance.WaitEnteredAsync();
        return first;
    }

    [Fact]
    public async Task InferAsync_QueuedRequests_FormBatchesUpToMaxBatchSize()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4), instance);
        var r0 = await Occupy(scheduler, instance);
        var queued = new[] { "a", "b", "c", "d", "e" }.Select(id => Infer(scheduler, id)).ToArray();
        Assert.Equal(5, scheduler.QueuedCount);

        instance.Allow(3);

        await Succeeded(r0);
        foreach (var pending in queued)
        {
            await Succeeded(pending);
        }
        Assert.Equal("[r0] [a,b,c,d] [e]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_InstanceWithExactBatchSizes_GetsBatchesShapedToThem()
    {
        var instance = new FakeInstance(blocking: true) { ExactBatchSizes = [1, 2, 4, 8] };
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 8), instance);
        var r0 = await Occupy(scheduler, instance);
        var queued = new[] { "a", "b", "c", "d", "e" }.Select(id => Infer(scheduler, id)).ToArray();

        instance.Allow(3);

        await Succeeded(r0);
        foreach (var pending in queued)
        {
            await Succeeded(pending);
        }
        // 5 rows would pad to 8: 4 run, and the fifth runs next.
        Assert.Equal("[r0] [a,b,c,d] [e]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_RequestsWithSeveralRows_AreNeverSplit()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4), instance);
        var r0 = await Occupy(scheduler, instance);
        var a = Infer(scheduler, "a", batchSize: 3);
        var b = Infer(scheduler, "b", batchSize: 2);
        var c = Infer(scheduler, "c", batchSize: 1);

        instance.Allow(3);

        await Succeeded(r0);
        await Succeeded(a);
        await Succeeded(b);
        await Succeeded(c);
        Assert.Equal("[r0] [a] [b,c]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_BelowMaxBatchSize_WaitsForTheQueueDelayBeforeRunning()
    {
        var instance = new FakeInstance();
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 8, delayUs: 1000), instance);

        var a = Infer(scheduler, "a");
        var b = Infer(scheduler, "b");
        var due = await _time.NextArmingAsync();

        Assert.Equal(TimeSpan.FromMilliseconds(1), due);
        Assert.Empty(instance.Batches);
        Assert.False(a.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        await Succeeded(a);
        await Succeeded(b);
        Assert.Equal("[a,b]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_PreferredBatchSizeReached_RunsWithoutWaitingForTheDelay()
    {
        var instance = new FakeInstance();
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 8, delayUs: 1_000_000, preferred: [2]), instance);

        var a = Infer(scheduler, "a", batchSize: 1);
        var b = Infer(scheduler, "b", batchSize: 1);

        await Succeeded(a);
        await Succeeded(b);
        Assert.Equal("[a,b]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_WithoutDynamicBatching_RunsEachRequestAloneInArrivalOrder()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(new SchedulerOptions { MaxBatchSize = 8 }, instance);
        var r0 = await Occupy(scheduler, instance);
        var queued = new[] { "a", "b", "c" }.Select(id => Infer(scheduler, id)).ToArray();

        instance.Allow(4);

        await Succeeded(r0);
        foreach (var pending in queued)
        {
            await Succeeded(pending);
        }
        Assert.Equal("[r0] [a] [b] [c]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_PriorityLevels_HigherPriorityRunsFirstAndZeroMeansDefault()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 2) with { PriorityLevels = 2, DefaultPriorityLevel = 2 };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var low1 = Infer(scheduler, "low1", priority: 2);
        var low2 = Infer(scheduler, "low2", priority: 0);
        var high = Infer(scheduler, "high", priority: 1);
        var outOfRange = Infer(scheduler, "low3", priority: 7);

        instance.Allow(3);

        foreach (var pending in new[] { r0, low1, low2, high, outOfRange })
        {
            await Succeeded(pending);
        }
        Assert.Equal("[r0] [high,low1] [low2,low3]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_LevelQueueFull_RejectsAtOnceWithTritonsMessage()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 4) with { DefaultQueuePolicy = new QueuePolicy(MaxQueueSize: 2) };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var a = Infer(scheduler, "a");
        var b = Infer(scheduler, "b");
        var disposals = new DisposalCounter();

        var rejected = Infer(scheduler, "c", disposals: disposals);

        Assert.True(rejected.IsCompleted);
        var error = await Failed(rejected);
        Assert.Equal(ErrorCode.Unavailable, error.Code);
        Assert.Equal("Exceeds maximum queue size for model 'm'", error.Message);
        Assert.Equal(1, disposals.Count);
        Assert.Equal(1, _stats.FailureCount(FailureReason.Rejected));

        instance.Allow(2);
        await Succeeded(r0);
        await Succeeded(a);
        await Succeeded(b);
    }

    [Fact]
    public async Task InferAsync_TimeoutExpiresWhileQueuedWithReject_FailsEvenWhileEveryInstanceIsBusy()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 4) with { DefaultQueuePolicy = new QueuePolicy(TimeoutAction.Reject, DefaultTimeoutMicroseconds: 1000) };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var disposals = new DisposalCounter();
        var a = Infer(scheduler, "a", disposals: disposals);

        _time.Advance(TimeSpan.FromMilliseconds(1));

        var error = await Failed(a);
        Assert.Equal(ErrorCode.Timeout, error.Code);
        Assert.Equal("Request timeout expired", error.Message);
        Assert.Equal(1, disposals.Count);
        Assert.Equal(0, scheduler.QueuedCount);
        Assert.Equal(1, _stats.FailureCount(FailureReason.Rejected));

        instance.Allow();
        await Succeeded(r0);
        Assert.Equal("[r0]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_TimeoutExpiresWithDelay_RunsAfterRequestsThatHaveNotTimedOut()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 1) with { DefaultQueuePolicy = new QueuePolicy(TimeoutAction.Delay, DefaultTimeoutMicroseconds: 1000) };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var late = Infer(scheduler, "late");
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var fresh = Infer(scheduler, "fresh");

        instance.Allow(3);

        await Succeeded(r0);
        await Succeeded(late);
        await Succeeded(fresh);
        Assert.Equal("[r0] [fresh] [late]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_AllowTimeoutOverride_RequestMayLowerButNotRaiseTheTimeout()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 1) with
        {
            DefaultQueuePolicy = new QueuePolicy(DefaultTimeoutMicroseconds: 10_000, AllowTimeoutOverride: true),
        };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var shorter = Infer(scheduler, "shorter", timeoutUs: 1000);
        var longer = Infer(scheduler, "longer", timeoutUs: 50_000);

        _time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Equal(ErrorCode.Timeout, (await Failed(shorter)).Code);
        Assert.Equal(1, scheduler.QueuedCount);

        _time.Advance(TimeSpan.FromMilliseconds(8));
        Assert.Equal(ErrorCode.Timeout, (await Failed(longer)).Code);

        instance.Allow();
        await Succeeded(r0);
    }

    [Fact]
    public async Task InferAsync_AllowTimeoutOverrideWithADefaultOf0_IgnoresTheRequestTimeout()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 1) with { DefaultQueuePolicy = new QueuePolicy(AllowTimeoutOverride: true) };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var a = Infer(scheduler, "a", timeoutUs: 1000);

        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, scheduler.QueuedCount);
        instance.Allow(2);

        await Succeeded(r0);
        await Succeeded(a);
    }

    [Fact]
    public async Task InferAsync_TimeoutOverrideNotAllowed_IgnoresTheRequestTimeout()
    {
        var instance = new FakeInstance(blocking: true);
        var options = Dynamic(maxBatchSize: 1) with { DefaultQueuePolicy = new QueuePolicy(DefaultTimeoutMicroseconds: 10_000) };
        await using var scheduler = Scheduler(options, instance);
        var r0 = await Occupy(scheduler, instance);
        var a = Infer(scheduler, "a", timeoutUs: 1000);
        var b = Infer(scheduler, "b");

        _time.Advance(TimeSpan.FromMilliseconds(2));
        instance.Allow(3);

        await Succeeded(r0);
        await Succeeded(a);
        await Succeeded(b);
    }

    [Fact]
    public async Task InferAsync_CancelledWhileQueued_IsRemovedAndFailsAsCancelled()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4), instance);
        var r0 = await Occupy(scheduler, instance);
        using var cts = new CancellationTokenSource();
        var disposals = new DisposalCounter();
        var a = Infer(scheduler, "a", cancellationToken: cts.Token, disposals: disposals);
        var b = Infer(scheduler, "b");

        await cts.CancelAsync();

        var error = await Failed(a);
        Assert.Equal(ErrorCode.Cancelled, error.Code);
        Assert.Equal("Request was cancelled", error.Message);
        Assert.Equal(1, disposals.Count);
        Assert.Equal(1, scheduler.QueuedCount);
        Assert.Equal(1, _stats.FailureCount(FailureReason.Canceled));

        instance.Allow(2);
        await Succeeded(r0);
        await Succeeded(b);
        Assert.Equal("[r0] [b]", Describe(instance));
    }

    [Fact]
    public async Task InferAsync_TokenAlreadyCancelled_FailsAsCancelledWithoutRunning()
    {
        var instance = new FakeInstance();
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4), instance);

        var error = await Failed(Infer(scheduler, "a", cancellationToken: new CancellationToken(canceled: true)));

        Assert.Equal(ErrorCode.Cancelled, error.Code);
        Assert.Empty(instance.Batches);
        Assert.Equal(0, scheduler.InflightCount);
    }

    [Fact]
    public async Task InferAsync_CancelledWhileExecuting_CompletesNormally()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4), instance);
        using var cts = new CancellationTokenSource();
        var a = Infer(scheduler, "a", cancellationToken: cts.Token);
        await instance.WaitEnteredAsync();

        await cts.CancelAsync();
        instance.Allow();

        Assert.Equal("a", (await Succeeded(a)).Id);
    }

    [Fact]
    public async Task InferAsync_InstanceThrows_FailsTheWholeBatchAndTheNextBatchStillRuns()
    {
        var instance = new FakeInstance(blocking: true) { FailWhen = i => i == 1 ? new InvalidOperationException("boom") : null };
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 2), instance);
        var r0 = await Occupy(scheduler, instance);
        var a = Infer(scheduler, "a");
        var b = Infer(scheduler, "b");
        instance.Allow(2);
        await Succeeded(r0);

        var errorA = await Failed(a);
        var errorB = await Failed(b);
        var c = Infer(scheduler, "c");
        instance.Allow();

        Assert.Equal(new InferenceError(ErrorCode.Internal, "boom"), errorA);
        Assert.Equal(new InferenceError(ErrorCode.Internal, "boom"), errorB);
        await Succeeded(c);
        Assert.Equal("[r0] [a,b] [c]", Describe(instance));
        Assert.Equal(2, _stats.FailureCount(FailureReason.Backend));
        Assert.Equal(2, _stats.ExecutionCount);
    }

    [Fact]
    public async Task InferAsync_PreserveOrdering_HoldsALaterResponseUntilEarlierOnesComplete()
    {
        var entered = new SemaphoreSlim(0);
        var first = new FakeInstance("i_0", blocking: true) { SharedEntered = entered };
        var second = new FakeInstance("i_1", blocking: true) { SharedEntered = entered };
        await using var scheduler = Scheduler(new SchedulerOptions { MaxBatchSize = 4, PreserveOrdering = true }, first, second);
        var a = Infer(scheduler, "a");
        var runsA = await RunnerOf("a", entered, first, second);
        var b = Infer(scheduler, "b");
        var runsB = await RunnerOf("b", entered, first, second);
        Assert.NotSame(runsA, runsB);

        runsB.Allow();
        var c = Infer(scheduler, "c");
        Assert.Same(runsB, await RunnerOf("c", entered, first, second));

        // b's instance has moved on to c, so b's result was already handed over: it must be held back for a.
        Assert.False(b.IsCompleted);
        runsA.Allow();
        await Succeeded(a);
        await Succeeded(b);
        runsB.Allow();
        await Succeeded(c);
    }

    [Fact]
    public async Task InferAsync_WithoutPreserveOrdering_ALaterResponseMayCompleteFirst()
    {
        var entered = new SemaphoreSlim(0);
        var first = new FakeInstance("i_0", blocking: true) { SharedEntered = entered };
        var second = new FakeInstance("i_1", blocking: true) { SharedEntered = entered };
        await using var scheduler = Scheduler(new SchedulerOptions { MaxBatchSize = 4 }, first, second);
        var a = Infer(scheduler, "a");
        var runsA = await RunnerOf("a", entered, first, second);
        var b = Infer(scheduler, "b");
        var runsB = await RunnerOf("b", entered, first, second);

        runsB.Allow();

        await Succeeded(b);
        Assert.False(a.IsCompleted);
        runsA.Allow();
        await Succeeded(a);
    }

    [Fact]
    public async Task InferAsync_SeveralInstances_RunTheirBatchesConcurrently()
    {
        var instances = Enumerable.Range(0, 3).Select(i => new FakeInstance($"i_{i}", blocking: true)).ToArray();
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 1), instances);

        var pending = new[] { "a", "b", "c" }.Select(id => Infer(scheduler, id)).ToArray();
        foreach (var instance in instances)
        {
            await instance.WaitEnteredAsync();
        }
        Assert.Equal(3, scheduler.InflightCount);
        Assert.Equal(0, scheduler.QueuedCount);

        foreach (var instance in instances)
        {
            instance.Allow();
        }
        foreach (var p in pending)
        {
            await Succeeded(p);
        }
        Assert.All(instances, i => Assert.Single(i.Batches));
        Assert.All(instances, i => Assert.False(i.ConcurrentCallSeen));
    }

    [Fact]
    public async Task InferAsync_Statistics_CountExecutionsInferencesBatchSizesAndOutcomes()
    {
        var instance = new FakeInstance(blocking: true);
        await using var scheduler = Scheduler(Dynamic(maxBatchSize: 4, preferred: [4]), instance);
        var r0 = await Occupy(scheduler, instance);
        var queued = new[] { "a", "b", "c", "d" }.Select(id => Infer(scheduler, id)).ToArray();
        var d2 = Infer(scheduler, "e", batchSize: 2);
        using var cts = new CancellationTokenSource();
        var cancelled = Infer(scheduler, "x", cancellationToken: cts.Token);
        await cts.CancelAsync();
        await Failed(cancelled);
        _time.Advance(TimeSpan.FromMilliseconds(5));

        instance.Allow(3);
        await Succeeded(r0);
        foreach (var p in queued)
        {
            await Succeeded(p);
        }
        await Succeeded(d2);

        Assert.Equal(3, _stats.ExecutionCount);
        Assert.Equal(7, _stats.InferenceCount);
        Assert.Equal([1, 2, 4], _stats.Batches.Select(s => s.BatchSize));
        Assert.All(_stats.Batches, s => Assert.Equal(1, s.ComputeInfer.Count));
        Assert.Equal(100, _stats.Batches[0].ComputeInfer.TotalNs);
        Assert.Equal(6, _stats.Success.Count);
        Assert.Equal(6, _stats.Queue.Count);
        Assert.Equal(6 * 100, _stats.ComputeInfer.TotalNs);
        Assert.Equal(1, _stats.Fail.Count);
        Assert.Equal(1, _stats.FailureCount(FailureReason.Canceled));
        // a..e waited 5 ms in the queue (fake time); r0 did not wait.
        Assert.Equal(5 * TimeSpan.FromMilliseconds(5).Ticks * 100, _stats.Queue.TotalNs);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), _stats.LastInferenceMs);
        Assert.Equal(0, scheduler.InflightCount);
    }

    [Fact]
    public async Task StopAsync_RejectsNewRequestsAndDrainsQueuedOnesWithoutWaitingForTheDelay()
    {
        var instance = new FakeInstance(blocking: true);
        var scheduler = Scheduler(Dynamic(maxBatchSize: 8, delayUs: 10_000_000), instance);
        var r0 = await Occupy(scheduler, instance, batchSize: 8);
        var a = Infer(scheduler, "a");
        var b = Infer(scheduler, "b");

        var stopping = scheduler.StopAsync(TestContext.Current.CancellationToken);
        var late = await Failed(Infer(scheduler, "late"));

        Assert.Equal(ErrorCode.Unavailable, late.Code);
        Assert.Equal("Model 'm' is unloading", late.Message);
        Assert.False(stopping.IsCompleted);
        instance.Allow(2);
        await Succeeded(r0);
        await Succeeded(a);
        await Succeeded(b);
        await stopping.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("[r0] [a,b]", Describe(instance));
        Assert.Equal(0, scheduler.InflightCount);
        Assert.Equal(1, _stats.FailureCount(FailureReason.Other));

        await scheduler.DisposeAsync();
        Assert.False(instance.Disposed);
    }

    /// <summary>Waits for the next execution to start on either instance and returns the one running <paramref name="id"/>.</summary>
    private static async Task<FakeInstance> RunnerOf(string id, SemaphoreSlim entered, params FakeInstance[] instances)
    {
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10)), $"{id} never started");
        return instances.Single(i => i.Batches.Any(b => b.Contains(id)));
    }
}
