using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Kind = Inference.Server.Protos.ModelInstanceGroup.Types.Kind;

namespace Inference.Tests.Repository;

public sealed class InstancePlacementTests
{
    private static ModelConfig Parse(string groups) =>
        PbtxtParser.ParseModelConfig("name: \"m\" " + groups, "config.pbtxt").Value!;

    private static InferenceError? GpuWorks(int id, bool tensorRt) => null;

    private static InferenceError? NoTensorRt(int id, bool tensorRt) =>
        tensorRt ? new InferenceError(ErrorCode.Unsupported, "TensorRT execution provider not available: libnvinfer.so.10: cannot open shared object file") : null;

    private static InferenceError? OnlyGpu0(int id, bool tensorRt) =>
        id == 0 ? null : new InferenceError(ErrorCode.Unsupported, $"GPU {id} does not exist (1 CUDA device(s) visible)");

    private static InferenceError? NeverAsked(int id, bool tensorRt) => throw new InvalidOperationException("CPU groups must not probe");

    [Fact]
    public void AutoGroups_AreTheGroupsTheModelsConfigLeavesAuto()
    {
        Assert.Equal([0, 2], InstancePlacement.AutoGroups(Parse("instance_group [ { count: 1 }, { kind: KIND_CPU }, { kind: KIND_AUTO } ]")).Order());
        Assert.Empty(InstancePlacement.AutoGroups(null));
    }

    [Fact]
    public void Place_CpuGroups_DoNotProbe()
    {
        var config = Parse("instance_group [ { name: \"c\" kind: KIND_CPU count: 3 } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int>(), tensorRt: false, NeverAsked);

        Assert.Equal([OnnxDevice.Cpu, OnnxDevice.Cpu, OnnxDevice.Cpu], Assert.Single(placed.Value!).Devices);
    }

    [Fact]
    public void Place_GpuGroup_PutsCountInstancesOnEachListedGpu()
    {
        var config = Parse("instance_group [ { name: \"g\" kind: KIND_GPU count: 2 gpus: [ 0, 1 ] } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int>(), tensorRt: false, GpuWorks);

        Assert.Equal([OnnxDevice.Gpu(0), OnnxDevice.Gpu(0), OnnxDevice.Gpu(1), OnnxDevice.Gpu(1)], Assert.Single(placed.Value!).Devices);
        Assert.False(config.Parameters.ContainsKey(InstancePlacement.FallbackParameterKey));
    }

    [Fact]
    public void Place_AutoGroupWithUsableGpu_BecomesKindGpu()
    {
        // Auto-complete without a GPU would have resolved the group to KIND_CPU; placement decides from the probe.
        var config = Parse("instance_group [ { name: \"a\" kind: KIND_CPU count: 1 } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int> { 0 }, tensorRt: false, GpuWorks);

        Assert.Equal([OnnxDevice.Gpu(0)], Assert.Single(placed.Value!).Devices);
        Assert.Equal(Kind.Gpu, config.InstanceGroup[0].Kind);
        Assert.Null(placed.Value![0].FallbackReason);
    }

    [Fact]
    public void Place_GpuGroupOnMissingDevice_FailsNamingGroupAndDevice()
    {
        var config = Parse("instance_group [ { name: \"g\" kind: KIND_GPU gpus: [ 0, 3 ] } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int>(), tensorRt: false, OnlyGpu0);

        Assert.Equal(ErrorCode.Unsupported, placed.Error?.Code);
        Assert.Equal("instance_group 'g' is KIND_GPU: GPU 3 does not exist (1 CUDA device(s) visible)", placed.Error!.Message);
    }

    [Fact]
    public void Place_AutoGroupWithoutTensorRt_FallsBackToCpuAndRecordsWhy()
    {
        var config = Parse("instance_group [ { name: \"a\" kind: KIND_AUTO count: 2 gpus: [ 0 ] }, { name: \"b\" kind: KIND_AUTO count: 1 } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int> { 0, 1 }, tensorRt: true, NoTensorRt).Value!;

        Assert.Equal([OnnxDevice.Cpu, OnnxDevice.Cpu], placed[0].Devices);
        Assert.Equal([Kind.Cpu, Kind.Cpu], config.InstanceGroup.Select(g => g.Kind));
        Assert.Empty(config.InstanceGroup[0].Gpus);
        Assert.Contains("libnvinfer.so.10", placed[0].FallbackReason);
        Assert.Equal(
            "a: KIND_AUTO placed on KIND_CPU: TensorRT execution provider not available: libnvinfer.so.10: cannot open shared object file; " +
            "b: KIND_AUTO placed on KIND_CPU: TensorRT execution provider not available: libnvinfer.so.10: cannot open shared object file",
            config.Parameters[InstancePlacement.FallbackParameterKey].StringValue);
    }

    [Fact]
    public void Place_KindGpuWithoutTensorRt_FailsRatherThanFallingBack()
    {
        var config = Parse("instance_group [ { name: \"g\" kind: KIND_GPU } ]");

        var placed = InstancePlacement.Place(config, new HashSet<int>(), tensorRt: true, NoTensorRt);

        Assert.Contains("libnvinfer.so.10", placed.Error!.Message);
    }
}
