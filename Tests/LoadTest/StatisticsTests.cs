using LoadTest.Load;
using LoadTest.Model;
using LoadTest.Stats;

namespace Inference.Tests.LoadTest;

public sealed class StatisticsTests
{
    [Fact]
    public void LatencySummary_UniformValues_GivesPercentilesWithinHistogramPrecision()
    {
        var histogram = LatencySummary.NewHistogram();
        for (var v = 1; v <= 1000; v++)
        {
            histogram.RecordValue(v);
        }

        var s = LatencySummary.From(histogram);

        Assert.Equal(1000, s.Count);
        Assert.Equal(500, s.P50Us, 0.5);
        Assert.Equal(900, s.P90Us, 0.5);
        Assert.Equal(950, s.P95Us, 0.5);
        Assert.Equal(990, s.P99Us, 0.5);
        Assert.Equal(1000, s.MaxUs, 0.5);
        Assert.Equal(500.5, s.MeanUs, 0.5);
    }

    [Fact]
    public void LatencySummary_OneSlowRequestInAHundred_ShowsOnlyAboveP99()
    {
        var histogram = LatencySummary.NewHistogram();
        histogram.RecordValueWithCount(1000, 99);
        histogram.RecordValue(50_000);

        var s = LatencySummary.From(histogram);

        Assert.InRange(s.P99Us, 999, 1001);
        Assert.InRange(s.MaxUs, 49_950, 50_050);
    }

    [Theory]
    [InlineData(new double[] { 100, 105, 95 }, new double[] { 10, 10.5, 9.5 }, true)]
    [InlineData(new double[] { 100, 100, 115 }, new double[] { 10, 10, 10 }, true)]
    [InlineData(new double[] { 100, 100, 125 }, new double[] { 10, 10, 10 }, false)]
    [InlineData(new double[] { 100, 100, 100 }, new double[] { 10, 10, 12.5 }, false)]
    [InlineData(new double[] { 50, 100, 100, 100 }, new double[] { 40, 10, 10, 10 }, true)]
    [InlineData(new double[] { 100, 100 }, new double[] { 10, 10 }, false)]
    [InlineData(new double[] { 0, 0, 0 }, new double[] { 0, 0, 0 }, false)]
    public void StabilityRule_LastThreeWindowsWithinTenPercentOfTheirMean(double[] throughput, double[] p99, bool stable)
    {
        var rule = new StabilityRule(Percentage: 10);

        Assert.Equal(stable, rule.IsStable(throughput.Zip(p99).ToList()));
    }

    [Fact]
    public void Merge_UnderStabilityRule_UsesTheLastThreeWindowsAndTheirServerStatistics()
    {
        var windows = new[] { Window(1, 100, 9_000, Stats(10)), Window(1, 200, 1_000, Stats(30)), Window(1, 200, 1_000, Stats(50)), Window(1, 200, 1_000, Stats(70)) };
        var plan = new MeasurementPlan(TimeSpan.Zero, TimeSpan.FromSeconds(1));

        var result = LevelRunner.Merge(new LevelSpec("concurrency", 4, 2, () => throw new InvalidOperationException()), plan, windows, Stats(0));

        Assert.True(result.Stable);
        Assert.Equal(3, result.Windows);
        Assert.Equal(600, result.Successes);
        Assert.Equal(200, result.RequestsPerSecond, 6);
        Assert.Equal(400, result.InferencesPerSecond, 6);
        Assert.Equal(1_000, result.Latency.MaxUs, 1);
        Assert.Equal(60, result.Server!.Requests);
    }

    [Fact]
    public void Merge_FixedDuration_UsesAllWindowsAndSumsErrors()
    {
        var windows = new[] { Window(1, 10, 500, null, ("http-503", 2)), Window(0.5, 10, 500, null, ("http-503", 1), ("timeout", 1)) };
        var plan = new MeasurementPlan(TimeSpan.Zero, TimeSpan.FromSeconds(1), Duration: TimeSpan.FromSeconds(1.5));

        var result = LevelRunner.Merge(new LevelSpec("concurrency", 1, 1, () => throw new InvalidOperationException()), plan, windows, null);

        Assert.Null(result.Stable);
        Assert.Equal(1.5, result.Seconds, 6);
        Assert.Equal(20, result.Successes);
        Assert.Equal(3, result.Errors["http-503"]);
        Assert.Equal(1, result.Errors["timeout"]);
        Assert.Equal(4.0 / 24, result.ErrorRate, 6);
        Assert.Null(result.Server);
    }

    [Fact]
    public void ServerBreakdown_PerRequestTimesAndAverageBatch_FromTwoSnapshots()
    {
        var before = new ServerStatsSnapshot(100, 50, 100, 0, 0, 0, 0, 0, 0);
        var after = new ServerStatsSnapshot(300, 100, 300, 200 * 400_000L, 200 * 100_000L, 200 * 10_000L, 200 * 250_000L, 200 * 20_000L, 0);

        var b = ServerBreakdown.Between(before, after)!;

        Assert.Equal(200, b.Requests);
        Assert.Equal(100, b.QueueUs, 6);
        Assert.Equal(10, b.ComputeInputUs, 6);
        Assert.Equal(250, b.ComputeInferUs, 6);
        Assert.Equal(20, b.ComputeOutputUs, 6);
        Assert.Equal(4, b.AverageBatchSize, 6);
        Assert.Null(ServerBreakdown.Between(after, after));
    }

    private static ServerStatsSnapshot Stats(long requests) => new(requests, requests, requests, 0, requests * 1000, 0, 0, 0, 0);

    private static WindowSample Window(double seconds, int count, long latencyUs, ServerStatsSnapshot? after, params (string, long)[] errors)
    {
        var h = LatencySummary.NewHistogram();
        h.RecordValueWithCount(latencyUs, count);
        return new WindowSample(seconds, h, errors.ToDictionary(e => e.Item1, e => e.Item2), after);
    }
}
