using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Inference.Tests.ModelTools;
using static Inference.Tests.Backends.TestModels;
using ModelTensorReshape = Inference.Server.Protos.ModelTensorReshape;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Tests.Backends;

/// <summary>Behaviours checked on tiny hand-built graphs (identity, two outputs).</summary>
public sealed class OnnxRuntimeInstanceFeatureTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static IModelInstance Create(string path, ModelConfig config, IReadOnlyDictionary<string, string[]>? labels = null)
    {
        var result = OnnxRuntimeBackend.CreateInstance(config.Name + "_0", path, config, OnnxSessionSettings.Default with { IntraOpThreads = 1 },
            OnnxDevice.Cpu, 1, labels);
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Value!;
    }

    private static InferenceResponse[] Execute(IModelInstance instance, params InferenceRequest[] requests)
    {
        var responses = new InferenceResponse[requests.Length];
        var timings = new ExecutionTimings();
        instance.Execute(requests, responses, ref timings);
        return responses;
    }

    [Theory]
    [InlineData(DataType.Bool)]
    [InlineData(DataType.UInt8)]
    [InlineData(DataType.UInt16)]
    [InlineData(DataType.UInt32)]
    [InlineData(DataType.UInt64)]
    [InlineData(DataType.Int8)]
    [InlineData(DataType.Int16)]
    [InlineData(DataType.Int32)]
    [InlineData(DataType.Int64)]
    [InlineData(DataType.Fp16)]
    [InlineData(DataType.Fp32)]
    [InlineData(DataType.Fp64)]
    public void Execute_IdentityOfEachFixedSizeType_ReturnsEachRequestsBytes(DataType type)
    {
        var path = _temp.Combine("identity.onnx");
        WriteIdentity(path, type, "batch", 4);
        using var instance = Create(path, Config("id", 4, ("x", type, [4], false), ("y", type, [4], true)));
        var size = type.ElementSize();
        // Byte patterns valid for every type (bools must be 0 or 1).
        byte[] first = Enumerable.Range(0, 4 * size).Select(i => (byte)(type == DataType.Bool ? i % 2 : i + 1)).ToArray();
        byte[] second = Enumerable.Range(0, 8 * size).Select(i => (byte)(type == DataType.Bool ? (i + 1) % 2 : 100 + i)).ToArray();
        var a = Request("id", "a", 1, Tensor("x", type, [1, 4], first));
        var b = Request("id", "b", 2, Tensor("x", type, [2, 4], second));

        var responses = Execute(instance, a, b);

        Assert.Equal(first, responses[0].Outputs[0].Data.ToArray());
        Assert.Equal(second, responses[1].Outputs[0].Data.ToArray());
        Assert.Equal([2, 4], responses[1].Outputs[0].Shape);
        Assert.Equal(type, responses[1].Outputs[0].DataType);
    }

    [Fact]
    public void Execute_RequestedOutputs_ReturnsOnlyThoseAndAllWhenNoneRequested()
    {
        var path = _temp.Combine("two.onnx");
        WriteTwoOutputs(path);
        using var instance = Create(path, Config("two", 4,
            ("x", DataType.Fp32, [3], false), ("relu", DataType.Fp32, [3], true), ("neg", DataType.Fp32, [3], true)));
        var onlyNeg = Request("two", "a", 1, Tensor("x", DataType.Fp32, [1, 3], new[] { 1f, -2f, 3f }));
        onlyNeg.Outputs.Add(new RequestedOutput("neg"));
        var all = Request("two", "b", 1, Tensor("x", DataType.Fp32, [1, 3], new[] { -1f, 5f, 0f }));

        var responses = Execute(instance, onlyNeg, all);

        var neg = Assert.Single(responses[0].Outputs);
        Assert.Equal("neg", neg.Name);
        Assert.Equal([-1f, 2f, -3f], Values<float>(neg));
        Assert.Equal(["relu", "neg"], responses[1].Outputs.Select(o => o.Name));
        Assert.Equal([0f, 5f, 0f], Values<float>(responses[1].Outputs[0]));
        Assert.Equal([1f, -5f, -0f], Values<float>(responses[1].Outputs[1]));
    }

    [Fact]
    public void Execute_Classification_OrdersByScoreThenIndexAndAppendsLabels()
    {
        var path = _temp.Combine("cls.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 5);
        var labels = new Dictionary<string, string[]> { ["y"] = ["cat", "dog", "emu", "fox", "gnu"] };
        using var instance = Create(path, Config("cls", 4, ("x", DataType.Fp32, [5], false), ("y", DataType.Fp32, [5], true)), labels);
        var request = Request("cls", "a", 1, Tensor("x", DataType.Fp32, [1, 5], new[] { 0.5f, 2.25f, -1f, 2.25f, 12.345678f }));
        request.Outputs.Add(new RequestedOutput("y", ClassificationCount: 4));

        var tensor = Assert.Single(Execute(instance, request)[0].Outputs);

        Assert.Equal([1, 4], tensor.Shape);
        Assert.Equal(["12.345678:4:gnu", "2.250000:1:dog", "2.250000:3:fox", "0.500000:0:cat"], Strings(tensor));
    }

    [Fact]
    public void Execute_Classification_IntegerScoresWithoutLabels_AndCountClampedToElements()
    {
        var path = _temp.Combine("cls_int.onnx");
        WriteIdentity(path, DataType.Int32, 3);
        using var instance = Create(path, Config("ci", 0, ("x", DataType.Int32, [3], false), ("y", DataType.Int32, [3], true)));
        var request = Request("ci", "a", 1, Tensor("x", DataType.Int32, [3], new[] { 7, -2, 40 }));
        request.Outputs.Add(new RequestedOutput("y", ClassificationCount: 10));

        var tensor = Assert.Single(Execute(instance, request)[0].Outputs);

        Assert.Equal([3], tensor.Shape);
        Assert.Equal(["40:2", "7:0", "-2:1"], Strings(tensor));
    }

    [Fact]
    public void Execute_ConfigReshape_ModelSeesReshapedTensorClientSeesConfigDims()
    {
        var path = _temp.Combine("reshape.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", 2, 2);
        var config = Config("rs", 4, ("x", DataType.Fp32, [4], false), ("y", DataType.Fp32, [4], true));
        config.Input[0].Reshape = new ModelTensorReshape { Shape = { 2, 2 } };
        config.Output[0].Reshape = new ModelTensorReshape { Shape = { 2, 2 } };
        using var instance = Create(path, config);
        var a = Request("rs", "a", 2, Tensor("x", DataType.Fp32, [2, 4], new[] { 1f, 2, 3, 4, 5, 6, 7, 8 }));
        var b = Request("rs", "b", 1, Tensor("x", DataType.Fp32, [1, 4], new[] { 9f, 10, 11, 12 }));

        var responses = Execute(instance, a, b);

        Assert.Equal([2, 4], responses[0].Outputs[0].Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], Values<float>(responses[0].Outputs[0]));
        Assert.Equal([1, 4], responses[1].Outputs[0].Shape);
        Assert.Equal([9f, 10, 11, 12], Values<float>(responses[1].Outputs[0]));
    }

    [Fact]
    public void Execute_NonBatchingModel_RunsEachRequestAloneWithItsOwnShape()
    {
        var path = _temp.Combine("nb.onnx");
        WriteIdentity(path, DataType.Int64, "n");
        using var instance = Create(path, Config("nb", 0, ("x", DataType.Int64, [-1], false), ("y", DataType.Int64, [-1], true)));
        var a = Request("nb", "a", 1, Tensor("x", DataType.Int64, [2], new[] { 1L, 2 }));
        var b = Request("nb", "b", 1, Tensor("x", DataType.Int64, [3], new[] { 3L, 4, 5 }));

        var responses = Execute(instance, a, b);

        Assert.Equal([2], responses[0].Outputs[0].Shape);
        Assert.Equal([1L, 2], Values<long>(responses[0].Outputs[0]));
        Assert.Equal([3], responses[1].Outputs[0].Shape);
        Assert.Equal([3L, 4, 5], Values<long>(responses[1].Outputs[0]));
    }

    [Fact]
    public void Execute_BatchWithDifferingNonBatchShapes_RunsCompatibleSubBatches()
    {
        var path = _temp.Combine("var.onnx");
        WriteIdentity(path, DataType.Fp32, "batch", "n");
        using var instance = Create(path, Config("var", 8, ("x", DataType.Fp32, [-1], false), ("y", DataType.Fp32, [-1], true)));
        var a = Request("var", "a", 1, Tensor("x", DataType.Fp32, [1, 2], new[] { 1f, 2 }));
        var b = Request("var", "b", 1, Tensor("x", DataType.Fp32, [1, 2], new[] { 3f, 4 }));
        var c = Request("var", "c", 2, Tensor("x", DataType.Fp32, [2, 3], new[] { 5f, 6, 7, 8, 9, 10 }));

        var responses = Execute(instance, a, b, c);

        Assert.Equal([3f, 4], Values<float>(responses[1].Outputs[0]));
        Assert.Equal([2, 3], responses[2].Outputs[0].Shape);
        Assert.Equal([5f, 6, 7, 8, 9, 10], Values<float>(responses[2].Outputs[0]));
    }
}
