using Inference.Server.Scheduling;

namespace Inference.Tests.Scheduling;

public sealed class BatchFormerTests
{
    private const long Delay = 100;

    private static BatchFormer Former(int max = 8, int[]? preferred = null, long delay = Delay, bool dynamic = true) =>
        new(max, dynamic, preferred ?? [], delay);

    [Fact]
    public void TryAdd_NextRequestExceedsMaxBatchSize_RefusesItAndRunsWhatFits()
    {
        var former = Former(max: 8);

        Assert.True(former.TryAdd(3, 0));
        Assert.True(former.TryAdd(3, 0));
        Assert.False(former.TryAdd(3, 0));

        var decision = former.Decide(now: 0);
        Assert.True(decision.IsRun);
        Assert.Equal(2, decision.RequestCount);
        Assert.Equal(6, former.Rows);
    }

    [Fact]
    public void Decide_RowsReachMaxBatchSizeWithoutPreferredSizes_RunsAtOnce()
    {
        var former = Former(max: 4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(former.TryAdd(1, 0));
        }

        Assert.Equal(new BatchDecision(4, long.MaxValue), former.Decide(now: 0));
    }

    [Fact]
    public void Decide_BelowMaxBatchSize_WaitsUntilTheOldestRequestHasWaitedTheDelay()
    {
        var former = Former(max: 8);
        former.TryAdd(1, enqueueTimestamp: 10);
        former.TryAdd(1, enqueueTimestamp: 30);

        var early = former.Decide(now: 50);
        Assert.True(early.IsWait);
        Assert.Equal(10 + Delay, early.WaitUntil);

        var due = former.Decide(now: 10 + Delay);
        Assert.Equal(2, due.RequestCount);
    }

    [Fact]
    public void Decide_PrefixReachesPreferredSizes_RunsTheLargestPreferredPrefixAtOnce()
    {
        var former = Former(max: 8, preferred: [2, 4]);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(former.TryAdd(1, 0));
        }

        Assert.Equal(new BatchDecision(4, long.MaxValue), former.Decide(now: 1));
    }

    [Fact]
    public void Decide_NoPreferredSizeReachable_WaitsThenRunsEverythingThatFits()
    {
        var former = Former(max: 8, preferred: [4]);
        former.TryAdd(1, 0);
        former.TryAdd(2, 0);

        Assert.True(former.Decide(now: Delay - 1).IsWait);
        Assert.Equal(2, former.Decide(now: Delay).RequestCount);
    }

    [Fact]
    public void Decide_NextRequestWouldOvershootEveryPreferredSize_RunsThePendingRequestsAtOnce()
    {
        // Triton: once the batch cannot grow to a preferred size, what is pending runs without waiting.
        var former = Former(max: 8, preferred: [4]);
        former.TryAdd(3, 0);
        former.TryAdd(3, 0);

        Assert.Equal(new BatchDecision(1, long.MaxValue), former.Decide(now: 0));
    }

    [Fact]
    public void Decide_DelayExceededWithPreferredPrefix_RunsEverythingThatFits()
    {
        var former = Former(max: 8, preferred: [2]);
        for (var i = 0; i < 3; i++)
        {
            former.TryAdd(1, 0);
        }

        Assert.Equal(2, former.Decide(now: Delay - 1).RequestCount);
        Assert.Equal(3, former.Decide(now: Delay).RequestCount);
    }

    [Fact]
    public void Decide_ZeroDelay_RunsWhateverIsQueued()
    {
        var former = Former(max: 8, delay: 0);
        former.TryAdd(1, 0);
        former.TryAdd(2, 0);

        Assert.Equal(new BatchDecision(2, long.MaxValue), former.Decide(now: 0));
    }

    [Fact]
    public void Decide_Flush_RunsWithoutWaiting()
    {
        var former = Former(max: 8);
        former.TryAdd(1, 0);

        Assert.Equal(1, former.Decide(now: 0, flush: true).RequestCount);
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(0, true)]
    public void TryAdd_WithoutBatching_EveryBatchIsOneRequest(int maxBatchSize, bool dynamicBatching)
    {
        var former = Former(max: maxBatchSize, delay: 1000, dynamic: dynamicBatching);

        Assert.True(former.TryAdd(1, 0));
        Assert.False(former.TryAdd(1, 0));
        Assert.Equal(new BatchDecision(1, long.MaxValue), former.Decide(now: 0));
    }

    [Fact]
    public void Decide_NothingOffered_IsIdle()
    {
        Assert.True(Former().Decide(now: 0).IsIdle);
    }

    [Fact]
    public void Reset_StartsAFreshBatch()
    {
        var former = Former(max: 2);
        former.TryAdd(2, 0);
        Assert.False(former.TryAdd(1, 0));

        former.Reset();

        Assert.True(former.TryAdd(1, 5));
        Assert.Equal(1, former.Count);
        Assert.Equal(5 + Delay, former.Decide(now: 5).WaitUntil);
    }
}
