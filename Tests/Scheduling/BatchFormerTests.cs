using Inference.Server.Scheduling;

namespace Inference.Tests.Scheduling;

public sealed class BatchFormerTests
{
    private const long Delay = 100;

    private static BatchFormer Former(int max = 8, int[]? preferred = null, long delay = Delay, bool dynamic = true) =>
        new(max, dynamic, preferred ?? [], delay);

    [Theory]
    [InlineData(131, 128)] // 3 rows left behind rather than 61 padded (131 -> 192)
    [InlineData(100, 96)]
    [InlineData(5, 4)]
    [InlineData(3, 3)]     // a tie pads: 1 row either way
    [InlineData(6, 6)]
    [InlineData(64, 64)]   // already exact
    [InlineData(250, 250)] // 6 padded rather than 58 left behind
    public void Decide_WithExactBatchSizes_ShrinksWhenThatLeavesLessBehindThanPaddingWastes(int queued, int expected)
    {
        var former = Former(max: 256, delay: 0);
        former.UseExactBatchSizes([1, 2, 4, 8, 16, 32, 64, 96, 128, 192, 256]);
        for (var i = 0; i < queued; i++)
        {
            Assert.True(former.TryAdd(1, 0));
        }

        Assert.Equal(new BatchDecision(expected, long.MaxValue), former.Decide(now: 0));
    }

    [Fact]
    public void Decide_WithExactBatchSizes_KeepsWholeRequests()
    {
        var former = Former(max: 16, delay: 0);
        former.UseExactBatchSizes([4, 8, 16]);
        // 3 + 3 + 3 = 9 rows: 8 is closer, but no prefix of whole requests makes 8, so all 9 run (padded to 16).
        Assert.True(former.TryAdd(3, 0));
        Assert.True(former.TryAdd(3, 0));
        Assert.True(former.TryAdd(3, 0));
        Assert.Equal(3, former.Decide(now: 0).RequestCount);

        former.Reset();
        // 4 + 4 + 1 = 9 rows: the prefix 4 + 4 makes 8.
        Assert.True(former.TryAdd(4, 0));
        Assert.True(former.TryAdd(4, 0));
        Assert.True(former.TryAdd(1, 0));
        Assert.Equal(2, former.Decide(now: 0).RequestCount);
    }

    [Fact]
    public void Decide_WithExactBatchSizes_FlushAndTheConfiguredPreferredSizesAreUnchanged()
    {
        var former = Former(max: 16, preferred: [6], delay: 1000);
        former.UseExactBatchSizes([4, 8, 16]);
        for (var i = 0; i < 7; i++)
        {
            Assert.True(former.TryAdd(1, 0));
        }
        // The configured preferred size 6 wins while the delay has not passed.
        Assert.Equal(6, former.Decide(now: 10).RequestCount);

        var draining = Former(max: 16, delay: 1000);
        draining.UseExactBatchSizes([4, 8, 16]);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(draining.TryAdd(1, 0));
        }
        // Draining on stop runs everything; past the delay the batch shrinks to 4.
        Assert.Equal(5, draining.Decide(now: 10, flush: true).RequestCount);
        Assert.Equal(4, draining.Decide(now: 1000).RequestCount);
    }

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
