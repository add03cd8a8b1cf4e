using Inference.Server.Backends.OnnxRuntime;

namespace Inference.Tests.Backends;

public sealed class CudaGraphPlanTests
{
    [Theory]
    [InlineData(1, new[] { 1 })]
    [InlineData(24, new[] { 1, 2, 4, 8, 16, 24 })]
    [InlineData(256, new[] { 1, 2, 4, 8, 16, 32, 64, 128, 256 })]
    public void DefaultSizes_ArePowersOfTwoAndTheMaximum(int maxBatchSize, int[] expected) =>
        Assert.Equal(expected, CudaGraphPlan.DefaultSizes(maxBatchSize));

    [Fact]
    public void Choose_CapturedSize_ReplaysItsGraph()
    {
        var plan = new CudaGraphPlan([8, 1, 8, 4], 8);

        Assert.Equal([1, 4, 8], plan.Sizes);
        Assert.Equal((4, true), plan.Choose(4));
    }

    [Fact]
    public void Choose_PadsUpToTheNextCapturedSize()
    {
        var plan = new CudaGraphPlan([1, 4, 8], 16);

        Assert.Equal((4, true), plan.Choose(3));
        Assert.Equal((8, true), plan.Choose(5));
    }

    [Fact]
    public void Choose_AboveTheLargestCapturedSize_RunsEagerly() =>
        Assert.Equal((12, false), new CudaGraphPlan([1, 8], 16).Choose(12));

    [Fact]
    public void Choose_AlwaysPadsUpToACapturedSize_NeverANewEagerShape()
    {
        // An eager run at a new shape makes the CUDA provider search convolution algorithms again (seconds), so even
        // 129 rows replay the 256 graph.
        var plan = new CudaGraphPlan([128, 256], 256);
        plan.RecordReplay(128, graphMs: 8);
        plan.RecordReplay(256, graphMs: 16);

        Assert.Equal((256, true), plan.Choose(129));
        Assert.Equal((128, true), plan.Choose(1));
        Assert.Contains("256: 16.00 ms", plan.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void RecordReplay_UncapturedSize_Throws() =>
        Assert.Throws<ArgumentException>(() => new CudaGraphPlan([1, 2], 2).RecordReplay(3, 1));

    [Theory]
    [InlineData(new int[0], 8)]
    [InlineData(new[] { 0, 4 }, 8)]
    [InlineData(new[] { 16 }, 8)]
    public void Constructor_SizesOutsideTheBatchRange_Throw(int[] sizes, int maxBatchSize) =>
        Assert.Throws<ArgumentException>(() => new CudaGraphPlan(sizes, maxBatchSize));
}
