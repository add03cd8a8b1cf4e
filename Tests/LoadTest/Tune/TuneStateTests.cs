using Inference.Tests.ModelTools;
using LoadTest.Load;
using LoadTest.Stats;
using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

public sealed class TuneStateTests
{
    private static TuneSettings Settings(int maxConfigs = 10, double minCosine = 0.99) => new("/models/m/1/model.onnx", "m",
        TuneTestData.Space(accelerators: ["cpu", "cuda:prefer_nhwc=1"], graphs: ["off", "1,max"]), new TuneGoal(TuneObjective.Throughput, MaxP99Ms: 5, MinCosine: minCosine),
        new MeasureSettings("grpc", [1, 4], new MeasurementPlan(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500), null, 0, new StabilityRule(), 5), 1, 4, 1),
        "generated", maxConfigs, 2, "started by tune");

    [Fact]
    public void SavedState_LoadsBackTheSameResults_AndVariants()
    {
        using var dir = new TempDirectory();
        var space = Settings().Space;
        var point = space.Expand().Last();
        var state = TuneState.New(Settings())
            .With(new VariantRecord("fp16", "m_fp16", PointStatus.Excluded, "accuracy", new VariantAccuracy(16, 1, 0.98, 0.97, 0.1)))
            .With(TuneTestData.Measured(0, point, TuneTestData.Level(1, 123.5, 999)) with { GpuMemoryBeforeLoadBytes = 42, ConfigText = "name: \"m\"" });

        state.Save(dir.Path);
        var loaded = TuneState.Load(dir.Path)!;

        var result = Assert.Single(loaded.Results);
        Assert.Equal(point.Key, result.Key);
        Assert.Equal(point.Key, result.Point.Key);
        Assert.Equal(state.Results[0].Levels, result.Levels);
        Assert.Equal((42.0, "name: \"m\"", PointStatus.Measured), (result.GpuMemoryBeforeLoadBytes!.Value, result.ConfigText, result.Status));
        Assert.Equal(state.Variants[0], loaded.Variants.Single());
        Assert.True(loaded.SameSettings(Settings()));
    }

    [Fact]
    public void SameSettings_AllowsAnotherConfigLimit_ButNothingThatChangesThePathOrTheMeasurements()
    {
        var state = TuneState.New(Settings());

        Assert.True(state.SameSettings(Settings(maxConfigs: 50)));
        Assert.False(state.SameSettings(Settings(minCosine: 0.9)));
        Assert.False(state.SameSettings(Settings() with { Measure = Settings().Measure with { Concurrency = [1, 8] } }));
    }

    [Fact]
    public void Load_OfAFileThatIsNoState_SaysWhichFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine(TuneState.FileName), "{ not json");

        var e = Assert.Throws<InvalidDataException>(() => TuneState.Load(dir.Path));

        Assert.Contains(TuneState.FileName, e.Message, StringComparison.Ordinal);
    }
}
