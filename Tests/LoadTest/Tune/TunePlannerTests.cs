using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

public sealed class TunePlannerTests
{
    /// <summary>A synthetic server: fp16 doubles the rate, two instances add half, dynamic batching adds a third,
    /// and every level's p99 grows with the rate.</summary>
    private static MeasuredLevel[] Synthetic(TunePoint p)
    {
        var rate = 100.0 * (p.Precision == "fp16" ? 2 : 1) * (p.Instances == 2 ? 1.5 : 1) * (p.QueueDelayUs is null ? 1 : 1.33);
        return [TuneTestData.Level(1, rate / 2, 1000), TuneTestData.Level(4, rate, 4000)];
    }

    [Fact]
    public void Walk_BaselineFirst_ThenOneChangeAtATimeFromTheBestSoFar_ThenCombinations()
    {
        var space = TuneTestData.Space(precisions: "fp32,fp16", instances: "1,2", delays: "off,0");
        var goal = new TuneGoal(TuneObjective.Throughput);

        var results = TuneTestData.Walk(space, goal, Synthetic);

        Assert.Equal(
        [
            ("baseline", "fp32|cpu|instances=1|delay=off|preferred=off|graphs=off"),
            ("ladder:precision", "fp16|cpu|instances=1|delay=off|preferred=off|graphs=off"),
            ("ladder:instances", "fp16|cpu|instances=2|delay=off|preferred=off|graphs=off"),
            ("ladder:queue-delay", "fp16|cpu|instances=2|delay=0|preferred=off|graphs=off"),
            ("combination", "fp16|cpu|instances=1|delay=0|preferred=off|graphs=off"),
            ("combination", "fp32|cpu|instances=2|delay=0|preferred=off|graphs=off"),
            ("combination", "fp32|cpu|instances=2|delay=off|preferred=off|graphs=off"),
            ("combination", "fp32|cpu|instances=1|delay=0|preferred=off|graphs=off"),
        ], results.Select(r => (r.Stage, r.Key)));
        Assert.Equal("fp16|cpu|instances=2|delay=0|preferred=off|graphs=off", goal.Best(results)!.Key);
    }

    [Fact]
    public void Ladder_KeepsTheStartingPoint_WhenNoChangeOfADimensionHelps_AndSkipsInvalidValuesWithTheReason()
    {
        // Preferred sizes need dynamic batching; the ladder keeps "off" (batching only hurts here), so they are skipped.
        var space = TuneTestData.Space(precisions: "fp32", instances: "1", delays: "off,0", preferred: ["none", "4"]);
        var goal = new TuneGoal(TuneObjective.Throughput);

        var results = TuneTestData.Walk(space, goal, p => [TuneTestData.Level(1, p.QueueDelayUs is null ? 200 : 100, 1000)]);
        var ladder = TunePlanner.Next(space, goal, results.ToDictionary(r => r.Key), 100, 2).Ladder;

        Assert.Equal(2, results.Count);
        var delay = Assert.Single(ladder, r => r.Dimension == TuneDimension.QueueDelay);
        Assert.Equal(space.Baseline.Key, delay.KeptKey);
        var preferred = Assert.Single(ladder, r => r.Dimension == TuneDimension.PreferredBatchSizes);
        Assert.Equal(["4: preferred batch sizes need dynamic batching"], preferred.Skipped);
        Assert.Equal([space.Baseline.Key], preferred.TriedKeys);
    }

    [Fact]
    public void Next_WithAStateFileOfTheFirstResults_AsksForTheSamePointsTheFullRunMeasuredNext()
    {
        var space = TuneTestData.Space(precisions: "fp32,fp16", instances: "1,2", delays: "off,0,100");
        var goal = new TuneGoal(TuneObjective.Throughput);
        var full = TuneTestData.Walk(space, goal, Synthetic);

        var resumed = TuneTestData.Walk(space, goal, Synthetic, start: [.. full.Take(3)]);

        Assert.Equal(full.Select(r => r.Key), resumed.Select(r => r.Key));
    }

    [Fact]
    public void Next_StopsAtTheLimit_AndSaysSo()
    {
        var space = TuneTestData.Space();
        var goal = new TuneGoal(TuneObjective.Throughput);

        var results = TuneTestData.Walk(space, goal, Synthetic, maxPoints: 3);
        var step = TunePlanner.Next(space, goal, results.ToDictionary(r => r.Key), 3, 2);

        Assert.Equal(3, results.Count);
        Assert.True(step.LimitReached);
        Assert.Null(step.Next);
    }

    [Fact]
    public void FailedVariant_IsNeverKept_NorCombined()
    {
        var space = TuneTestData.Space(precisions: "fp32,fp16,preprocess", instances: "1,2", delays: "off");
        var goal = new TuneGoal(TuneObjective.Throughput);
        var results = new List<PointResult>();
        while (TunePlanner.Next(space, goal, results.ToDictionary(r => r.Key), 100, 3) is { Next: { } next })
        {
            results.Add(next.Precision == "preprocess"
                ? new PointResult(results.Count, next.Key, next, "test", PointStatus.Failed, "variant", "not an image model", [], null, "")
                : TuneTestData.Measured(results.Count, next, Synthetic(next)));
        }

        Assert.Single(results, r => r.Point.Precision == "preprocess");
        Assert.Equal("fp16|cpu|instances=2|delay=off|preferred=off|graphs=off", goal.Best(results)!.Key);
    }
}
