using Inference.Server.Repository;
using LoadTest.Cli;
using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

public sealed class TuneSpaceTests
{
    [Fact]
    public void Expand_IsTheCrossProductOfTheOptions_WithoutThePointsTheServerWouldNotLoadAsMeant()
    {
        // precision 2 x (cpu: graphs off | cuda: graphs off, 1/8) x instances 2 x (delay off: no preferred | delay 0: none, 4/max)
        var space = TuneTestData.Space(accelerators: ["cpu", "cuda:prefer_nhwc=1"], graphs: ["off", "1,max"], preferred: ["none", "4,max"]);

        var points = space.Expand();

        Assert.Equal(2 * 3 * 2 * 3, points.Count);
        Assert.Equal(points.Count, points.Select(p => p.Key).Distinct().Count());
        Assert.All(points, p => Assert.Null(space.Check(p)));
        Assert.DoesNotContain(points, p => p.Accelerator.Name == "cpu" && p.CudaGraphBatchSizes.Count > 0);
        Assert.DoesNotContain(points, p => p.QueueDelayUs is null && p.PreferredBatchSizes.Count > 0);
        Assert.Contains(points, p => p.Precision == "fp16" && p.Accelerator.Text == "cuda:prefer_nhwc=1" && p.CudaGraphBatchSizes.SequenceEqual([1, 8])
            && p.Instances == 2 && p.QueueDelayUs == 0 && p.PreferredBatchSizes.SequenceEqual([4, 8]));
    }

    [Fact]
    public void EveryExpandedConfig_PassesTheServersValidatorAndAcceleratorParser_AndSaysWhatThePointSays()
    {
        var space = TuneTestData.Space(accelerators: ["cpu", "cuda:fuse_conv_bias=1,prefer_nhwc=1"], graphs: ["off", "1,max"], preferred: ["none", "4"],
            delays: "off,0,500");

        foreach (var point in space.Expand())
        {
            var config = PointConfig.Build(TuneTestData.BaseConfig(), point);

            Assert.Null(PointConfig.Validate(config));
            Assert.Equal(point.Instances, config.InstanceGroup.Single().Count);
            Assert.Equal(point.Accelerator.IsGpu ? "Gpu" : "Cpu", config.InstanceGroup[0].Kind.ToString());
            Assert.Equal(point.QueueDelayUs is null, config.DynamicBatching is null);
            Assert.Equal(point.PreferredBatchSizes, config.DynamicBatching?.PreferredBatchSize.ToArray() ?? []);
            Assert.Equal(point.CudaGraphBatchSizes, config.Optimization?.Cuda?.GraphSpec.Select(g => g.BatchSize).ToArray() ?? []);
            Assert.Equal(point.Accelerator.IsGpu ? point.Accelerator.Name : null,
                config.Optimization?.ExecutionAccelerators?.GpuExecutionAccelerator.Single().Name);
            // What the server reads back from the file tune writes.
            Assert.True(PbtxtParser.ParseModelConfig(PbtxtWriter.Write(config), "x").IsSuccess);
        }
    }

    [Theory]
    [InlineData("fp64", "cpu", "off", "none", "off,0", "--precision: unknown precision 'fp64'")]
    [InlineData("fp32", "openvino", "off", "none", "off,0", "--accelerator 'openvino': unknown accelerator 'openvino' (known: cpu, cuda, tensorrt)")]
    [InlineData("fp32", "cpu", "1,8", "none", "off,0", "--cuda-graphs: CUDA graphs apply to the cuda accelerator only")]
    [InlineData("fp32", "cpu", "off", "4", "off", "--preferred-batch-sizes: preferred sizes need dynamic batching")]
    [InlineData("fp32", "cpu", "off", "16", "0", "--preferred-batch-sizes 16: 16 exceeds the model's max_batch_size 8")]
    [InlineData("fp32,fp32", "cpu", "off", "none", "off", "--precision: 'fp32' given twice")]
    [InlineData("fp32", "cpu", "off", "4", "off,0", "the baseline (each option's first value) is not a valid config: preferred batch sizes need dynamic batching")]
    public void Parse_OptionsThatCouldNotTakeEffect_AreErrorsNamingTheOption(string precisions, string accelerator, string graphs, string preferred, string delays,
        string message)
    {
        var e = Assert.Throws<FormatException>(() => SpaceOptions.Parse([precisions], [accelerator], [graphs], "1", delays, [preferred], 8));

        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_MakeTheBaselineTheModelsOwnConfig()
    {
        var source = TuneTestData.BaseConfig();
        source.InstanceGroup[0].Count = 3;
        source.DynamicBatching = new Inference.Server.Protos.ModelDynamicBatching { MaxQueueDelayMicroseconds = 250, PreferredBatchSize = { 2, 4 } };

        var (instances, delays, preferred) = SpaceOptions.Defaults(source);
        var space = SpaceOptions.Parse(["fp32"], ["cpu"], ["off"], instances, delays, preferred, 8);

        Assert.Equal((3, 250), (space.Baseline.Instances, space.Baseline.QueueDelayUs!.Value));
        Assert.Equal([2, 4], space.Baseline.PreferredBatchSizes);
        Assert.Equal([3, 1, 2], space.Instances);
        Assert.Equal([250, null, 0, 1000], space.QueueDelaysUs);
    }

    [Theory]
    [InlineData(256, "1,2,4,8,16,32,64,128,max")]
    [InlineData(8, "1,2,4,max")]
    [InlineData(6, "1,2,4,max")]
    [InlineData(1, "max")]
    public void DefaultCudaGraphSizes_ArePowersOfTwoBelowMax_ThenMax(int maxBatchSize, string expected)
    {
        Assert.Equal(expected, TuneCommand.PowersOfTwoUpTo(maxBatchSize));
        Assert.Equal(expected.Split(',').Length, SpaceOptions.Sizes("--cuda-graphs", expected, maxBatchSize).Count);
    }
}
