using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

public sealed class TuneGoalTests
{
    private static readonly TuneSpace Space = TuneTestData.Space(precisions: "fp32,fp16,int8", instances: "1,2,3");

    private static TunePoint Point(string precision, int instances = 1) => Space.Baseline with { Precision = precision, Instances = instances };

    [Fact]
    public void Constraints_ExcludeLevelsAndPoints_ThatBreakThem_WithTheReason()
    {
        var goal = new TuneGoal(TuneObjective.Throughput, MaxP99Ms: 5, MinThroughput: 100);
        var tooSlow = TuneTestData.Measured(0, Point("fp32"), TuneTestData.Level(1, 50, 1000));
        var tooLate = TuneTestData.Measured(1, Point("fp16"), TuneTestData.Level(1, 500, 9000));
        var errors = TuneTestData.Measured(2, Point("int8"), TuneTestData.Level(1, 500, 1000, errors: 3));
        var fine = TuneTestData.Measured(3, Point("fp32", 2), TuneTestData.Level(1, 150, 2000), TuneTestData.Level(4, 400, 6000));
        var failed = new PointResult(4, Point("fp32", 3).Key, Point("fp32", 3), "test", PointStatus.Failed, "load", "400 no", [], null, "");

        Assert.Equal("no level met the constraints (p99 <= 5 ms, >= 100 inferences/s)", goal.Infeasibility(tooSlow));
        Assert.Equal("no level met the constraints (p99 <= 5 ms, >= 100 inferences/s)", goal.Infeasibility(tooLate));
        Assert.Equal("no level without errors", goal.Infeasibility(errors));
        Assert.Equal("failed at load: 400 no", goal.Infeasibility(failed));
        Assert.Null(goal.Infeasibility(fine));
        Assert.Equal(1, goal.OperatingLevel(fine)!.Concurrency); // concurrency 4 breaks p99 <= 5 ms
        Assert.Equal(fine.Key, goal.Best([tooSlow, tooLate, errors, fine, failed])!.Key);
    }

    [Fact]
    public void GpuMemoryConstraint_CountsWhatTheLoadAdded_AndExcludesAPointWithoutAReading()
    {
        var goal = new TuneGoal(TuneObjective.Throughput, MaxGpuMemoryMb: 100);
        var level = TuneTestData.Level(1, 100, 1000);
        var small = TuneTestData.Measured(0, Point("fp16"), level with { GpuMemoryUsedBytes = 1000 * 1048576.0 }) with { GpuMemoryBeforeLoadBytes = 950 * 1048576.0 };
        var large = TuneTestData.Measured(1, Point("fp32"), level with { GpuMemoryUsedBytes = 1200 * 1048576.0 }) with { GpuMemoryBeforeLoadBytes = 950 * 1048576.0 };
        var unknown = TuneTestData.Measured(2, Point("int8"), level);

        Assert.Null(goal.Infeasibility(small));
        Assert.Equal("GPU memory 250 MiB > 100 MiB", goal.Infeasibility(large));
        Assert.StartsWith("no GPU memory reading", goal.Infeasibility(unknown), StringComparison.Ordinal);
    }

    [Fact]
    public void Best_IsTheHighestThroughput_OrTheLowestP99_AmongFeasiblePoints()
    {
        var a = TuneTestData.Measured(0, Point("fp32"), TuneTestData.Level(1, 100, 800), TuneTestData.Level(8, 300, 9000));
        var b = TuneTestData.Measured(1, Point("fp16"), TuneTestData.Level(1, 200, 1500), TuneTestData.Level(8, 280, 3000));

        Assert.Equal(a.Key, new TuneGoal(TuneObjective.Throughput).Best([a, b])!.Key);
        Assert.Equal(b.Key, new TuneGoal(TuneObjective.Throughput, MaxP99Ms: 5).Best([a, b])!.Key);
        Assert.Equal(a.Key, new TuneGoal(TuneObjective.P99Latency).Best([a, b])!.Key);
        Assert.Equal(b.Key, new TuneGoal(TuneObjective.P99Latency, MinThroughput: 150).Best([a, b])!.Key);
        Assert.Null(new TuneGoal(TuneObjective.Throughput, MaxP99Ms: 0.5).Best([a, b]));
    }

    [Fact]
    public void ParetoFront_KeepsOnlyTheLevelsNoOtherBeatsOnBothThroughputAndP99()
    {
        var a = TuneTestData.Measured(0, Point("fp32"), TuneTestData.Level(1, 100, 800), TuneTestData.Level(8, 300, 9000));
        var b = TuneTestData.Measured(1, Point("fp16"), TuneTestData.Level(1, 200, 1500), TuneTestData.Level(8, 280, 3000), TuneTestData.Level(16, 250, 4000));

        var front = new TuneGoal(TuneObjective.Throughput).ParetoFront([a, b]);

        Assert.Equal([(100.0, 800.0), (200, 1500), (280, 3000), (300, 9000)], front.Select(p => (p.Level.InferencesPerSecond, p.Level.P99Us)));
        Assert.Equal([(100.0, 800.0), (200, 1500), (280, 3000)],
            new TuneGoal(TuneObjective.Throughput, MaxP99Ms: 5).ParetoFront([a, b]).Select(p => (p.Level.InferencesPerSecond, p.Level.P99Us)));
    }
}
