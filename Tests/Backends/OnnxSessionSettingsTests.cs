using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using ModelConfig = Inference.Server.Protos.ModelConfig;
using ModelInstanceGroup = Inference.Server.Protos.ModelInstanceGroup;
using ModelOptimizationPolicy = Inference.Server.Protos.ModelOptimizationPolicy;
using ModelParameter = Inference.Server.Protos.ModelParameter;

namespace Inference.Tests.Backends;

public sealed class OnnxSessionSettingsTests
{
    private static ModelConfig WithLevel(int level) => new()
    {
        Optimization = new ModelOptimizationPolicy { Graph = new ModelOptimizationPolicy.Types.Graph { Level = level } },
    };

    [Theory]
    [InlineData(-1, GraphOptimizationLevel.ORT_ENABLE_BASIC)]
    [InlineData(0, GraphOptimizationLevel.ORT_ENABLE_ALL)]
    [InlineData(1, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)]
    [InlineData(2, GraphOptimizationLevel.ORT_DISABLE_ALL)]
    public void FromConfig_GraphLevel_MapsAsTritonsOnnxRuntimeBackend(int level, GraphOptimizationLevel expected) =>
        Assert.Equal(expected, OnnxSessionSettings.FromConfig(WithLevel(level)).Value!.OptimizationLevel);

    [Fact]
    public void FromConfig_NoSettings_GivesDefaults() =>
        Assert.Equal(OnnxSessionSettings.Default, OnnxSessionSettings.FromConfig(new ModelConfig()).Value);

    [Fact]
    public void FromConfig_SeveralCpuInstances_SplitTheCoresUnlessTheConfigSaysOtherwise()
    {
        var config = new ModelConfig();
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 2, Kind = ModelInstanceGroup.Types.Kind.Cpu });
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 4, Kind = ModelInstanceGroup.Types.Kind.Gpu });

        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), OnnxSessionSettings.FromConfig(config).Value!.IntraOpThreads);

        config.Parameters["intra_op_thread_count"] = new ModelParameter { StringValue = "0" };
        Assert.Equal(0, OnnxSessionSettings.FromConfig(config).Value!.IntraOpThreads);
    }

    [Fact]
    public void FromConfig_OneCpuInstance_LeavesTheThreadCountToOnnxRuntime()
    {
        var config = new ModelConfig();
        config.InstanceGroup.Add(new ModelInstanceGroup { Count = 1, Kind = ModelInstanceGroup.Types.Kind.Cpu });
        Assert.Equal(0, OnnxSessionSettings.FromConfig(config).Value!.IntraOpThreads);
    }

    [Fact]
    public void FromConfig_ThreadAndModeParameters_AreApplied()
    {
        var config = new ModelConfig();
        config.Parameters["intra_op_thread_count"] = new ModelParameter { StringValue = "3" };
        config.Parameters["inter_op_thread_count"] = new ModelParameter { StringValue = "2" };
        config.Parameters["execution_mode"] = new ModelParameter { StringValue = "1" };
        config.Parameters["something_else"] = new ModelParameter { StringValue = "ignored" };

        var settings = OnnxSessionSettings.FromConfig(config).Value!;

        Assert.Equal((3, 2, ExecutionMode.ORT_PARALLEL), (settings.IntraOpThreads, settings.InterOpThreads, settings.ExecutionMode));
    }

    [Theory]
    [InlineData("intra_op_thread_count", "many")]
    [InlineData("inter_op_thread_count", "-1")]
    [InlineData("execution_mode", "2")]
    public void FromConfig_BadParameterValue_IsAnErrorNamingTheKey(string key, string value)
    {
        var config = new ModelConfig();
        config.Parameters[key] = new ModelParameter { StringValue = value };

        var result = OnnxSessionSettings.FromConfig(config);

        Assert.Equal(ErrorCode.InvalidArgument, result.Error?.Code);
        Assert.Contains(key, result.Error!.Message);
    }

    [Fact]
    public void FromConfig_UnknownGraphLevel_IsAnError() =>
        Assert.Equal(ErrorCode.InvalidArgument, OnnxSessionSettings.FromConfig(WithLevel(5)).Error?.Code);
}
