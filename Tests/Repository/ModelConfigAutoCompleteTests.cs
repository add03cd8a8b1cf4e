using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Repository;
using ConfigDataType = Inference.Server.Protos.DataType;
using TensorType = Inference.Server.Core.DataType;
using Kind = Inference.Server.Protos.ModelInstanceGroup.Types.Kind;

namespace Inference.Tests.Repository;

public class ModelConfigAutoCompleteTests
{
    private static readonly ModelSignature Batchable = new(
        [new TensorSignature("input", TensorType.Fp32, [-1, 3, 224, 224])],
        [new TensorSignature("probs", TensorType.Fp32, [-1, 1000]), new TensorSignature("score", TensorType.Fp32, [-1])]);

    private static readonly ModelSignature Fixed = new(
        [new TensorSignature("a", TensorType.Int64, [2, -1])],
        [new TensorSignature("b", TensorType.Bytes, [])]);

    private static ModelConfig Parse(string text) => PbtxtParser.ParseModelConfig(text, "c.pbtxt").Value!;

    private static ModelConfig Complete(ModelConfig? partial, ModelSignature s, bool gpu = false)
    {
        var r = ModelConfigAutoComplete.Complete(partial, s, "m", gpu);
        Assert.True(r.IsSuccess, r.Error?.Message);
        return r.Value!;
    }

    private static string Fail(ModelConfig? partial, ModelSignature s)
    {
        var r = ModelConfigAutoComplete.Complete(partial, s, "m", false);
        Assert.False(r.IsSuccess);
        return r.Error!.Message;
    }

    [Fact]
    public void NoConfig_BatchableModel_GetsDefaultMaxBatchSizeDynamicBatchingAndDimsWithoutBatch()
    {
        var c = Complete(null, Batchable);
        Assert.Equal("m", c.Name);
        Assert.Equal("onnxruntime_onnx", c.Platform);
        Assert.Equal("onnxruntime", c.Backend);
        Assert.Equal(4, c.MaxBatchSize);
        Assert.NotNull(c.DynamicBatching);
        Assert.Equal([3L, 224L, 224L], c.Input[0].Dims);
        Assert.Equal(ConfigDataType.TypeFp32, c.Input[0].DataType);
        Assert.Equal([1000L], c.Output[0].Dims);
        // A batch-only output becomes dims [1] with an empty reshape.
        Assert.Equal([1L], c.Output[1].Dims);
        Assert.NotNull(c.Output[1].Reshape);
        Assert.Empty(c.Output[1].Reshape.Shape);
        Assert.Equal(1u, c.VersionPolicy.Latest.NumVersions);
        var g = Assert.Single(c.InstanceGroup);
        Assert.Equal((Kind.Cpu, 1, "m_0"), (g.Kind, g.Count, g.Name));
        Assert.Null(ModelConfigValidator.Validate(c, "c.pbtxt", "m"));
    }

    [Fact]
    public void NoConfig_NonBatchableModel_KeepsFullShapes()
    {
        var c = Complete(null, Fixed, gpu: true);
        Assert.Equal(0, c.MaxBatchSize);
        Assert.Null(c.DynamicBatching);
        Assert.Equal([2L, -1L], c.Input[0].Dims);
        Assert.Equal(ConfigDataType.TypeString, c.Output[0].DataType);
        Assert.Equal([1L], c.Output[0].Dims);
        Assert.Null(c.Output[0].Reshape);
        Assert.Equal(Kind.Gpu, c.InstanceGroup[0].Kind);
    }

    [Fact]
    public void ExplicitMaxBatchSize_IsKept_AndDimsDropTheBatchDim()
    {
        var c = Complete(Parse("max_batch_size: 16 instance_group { kind: KIND_AUTO count: 2 }"), Batchable);
        Assert.Equal(16, c.MaxBatchSize);
        Assert.Equal([3L, 224L, 224L], c.Input[0].Dims);
        Assert.Equal((Kind.Cpu, 2), (c.InstanceGroup[0].Kind, c.InstanceGroup[0].Count));
    }

    [Fact]
    public void MaxBatchSizeOne_DoesNotAddDynamicBatching() =>
        Assert.Null(Complete(Parse("max_batch_size: 1"), Batchable).DynamicBatching);

    [Fact]
    public void MissingOutputsOnly_AreFilled_ExistingInputsKept()
    {
        var c = Complete(Parse("max_batch_size: 2 input { name: \"input\" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }"), Batchable);
        Assert.Equal([3L, 224L, 224L], c.Input[0].Dims);
        Assert.Equal(["probs", "score"], c.Output.Select(o => o.Name));
    }

    [Fact]
    public void CompleteConfig_IsNotChangedInItsTensorsOrBatchSize()
    {
        var partial = Parse("max_batch_size: 0 input { name: \"input\" data_type: TYPE_FP32 dims: [ 1, 3, 224, 224 ] } output { name: \"probs\" data_type: TYPE_FP32 dims: [ 1, 1000 ] }");
        var c = Complete(partial, Batchable);
        Assert.Equal(0, c.MaxBatchSize);
        Assert.Single(c.Output);
        Assert.Empty(partial.InstanceGroup);
    }

    [Fact]
    public void NonBatchableModel_WithMaxBatchSize_IsAnError() =>
        Assert.Contains("max_batch_size is 8, but the model does not support batching", Fail(Parse("max_batch_size: 8"), Fixed));

    [Fact]
    public void UnknownConfigInput_NamesBothSides() =>
        Assert.Equal(
            "auto-complete of model 'm' failed: config input 'image' is not an input of the model file; the model's inputs are ['input']",
            Fail(Parse("max_batch_size: 4 input { name: \"image\" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }"), Batchable));

    [Fact]
    public void UnknownConfigOutput_NamesBothSides() =>
        Assert.Contains("config output 'logits' is not an output of the model file; the model's outputs are ['probs', 'score']",
            Fail(Parse("max_batch_size: 4 output { name: \"logits\" data_type: TYPE_FP32 dims: [ 1000 ] }"), Batchable));

    [Fact]
    public void WrongDataType_NamesBothTypes() =>
        Assert.Contains("input 'input' has data type TYPE_FP16 in the config but TYPE_FP32 in the model file",
            Fail(Parse("max_batch_size: 4 input { name: \"input\" data_type: TYPE_FP16 dims: [ 3, 224, 224 ] }"), Batchable));

    [Fact]
    public void WrongRank_NamesBothShapes() =>
        Assert.Contains("input 'input' has 3 dims [-1,3,224] in the config (batch dim included) but 4 dims [-1,3,224,224] in the model file",
            Fail(Parse("max_batch_size: 4 input { name: \"input\" data_type: TYPE_FP32 dims: [ 3, 224 ] }"), Batchable));

    [Fact]
    public void WrongFixedDim_NamesBothShapes() =>
        Assert.Contains("input 'input' has shape [-1,1,224,224] in the config but [-1,3,224,224] in the model file",
            Fail(Parse("max_batch_size: 4 input { name: \"input\" data_type: TYPE_FP32 dims: [ 1, 224, 224 ] }"), Batchable));

    [Fact]
    public void VariableConfigDim_WhereTheModelIsFixed_IsAnError() =>
        Assert.Contains("input 'input' has shape [-1,3,-1,224] in the config but [-1,3,224,224] in the model file",
            Fail(Parse("max_batch_size: 4 input { name: \"input\" data_type: TYPE_FP32 dims: [ 3, -1, 224 ] }"), Batchable));

    [Fact]
    public void ReshapeIsComparedWithTheModel()
    {
        var ok = Parse("max_batch_size: 4 input { name: \"input\" data_type: TYPE_FP32 dims: [ 150528 ] reshape { shape: [ 3, 224, 224 ] } }");
        Assert.Equal([150528L], Complete(ok, Batchable).Input[0].Dims);
    }

    [Fact]
    public void MissingRequiredModelInput_IsAnError()
    {
        var two = new ModelSignature(
            [new TensorSignature("a", TensorType.Fp32, [4]), new TensorSignature("b", TensorType.Fp32, [4])],
            [new TensorSignature("y", TensorType.Fp32, [4])]);
        Assert.Contains("model file input 'b' is missing from the config's inputs ['a']",
            Fail(Parse("input { name: \"a\" data_type: TYPE_FP32 dims: [ 4 ] }"), two));
    }
}
