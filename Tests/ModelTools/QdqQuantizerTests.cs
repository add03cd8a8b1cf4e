using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Quantization;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Tests.ModelTools;

public sealed class QdqQuantizerTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (string Fp32, string Int8, QuantizationResult Result) QuantizeTiny(QuantizationOptions options)
    {
        var fp32 = ModelToolsTestModels.WriteTinyResNet(_temp);
        var result = QdqQuantizer.Quantize(OnnxModelFile.Load(fp32), ModelToolsTestModels.Samples(fp32, 8, 1), options);
        var int8 = _temp.Combine($"int8-{Guid.NewGuid():N}.onnx");
        OnnxModelFile.Save(result.Model, int8);
        return (fp32, int8, result);
    }

    [Theory]
    [InlineData(ActivationQuantization.Int8Symmetric, CalibrationMethod.MinMax)]
    [InlineData(ActivationQuantization.Int8Symmetric, CalibrationMethod.Percentile)]
    [InlineData(ActivationQuantization.Int8Symmetric, CalibrationMethod.Entropy)]
    [InlineData(ActivationQuantization.Int8Asymmetric, CalibrationMethod.MinMax)]
    [InlineData(ActivationQuantization.UInt8Asymmetric, CalibrationMethod.Entropy)]
    public void Quantize_TinyResNet_RunsAndAgreesWithFp32OnHeldOutInputs(ActivationQuantization activations, CalibrationMethod method)
    {
        var (fp32, int8, _) = QuantizeTiny(new QuantizationOptions { Activations = activations, Method = method });

        var report = ModelComparison.Compare(fp32, int8, ModelToolsTestModels.Samples(fp32, 8, 99), "quantize");

        Assert.True(report.CosineMean >= 0.98, report.ToString());
        Assert.True(report.Top1Agreement >= 0.75, report.ToString());
    }

    [Fact]
    public void Quantize_TinyResNet_HasPerChannelInt8WeightsAndQdqPairsOnActivations()
    {
        var (_, _, result) = QuantizeTiny(new QuantizationOptions());
        var graph = result.Model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var producers = OnnxNodes.Producers(graph);

        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        Assert.Equal(53, convs.Count);
        foreach (var conv in convs)
        {
            var weightDq = producers[conv.Input[1]];
            Assert.Equal("DequantizeLinear", weightDq.OpType);
            Assert.Equal(0, OnnxNodes.IntAttribute(weightDq, "axis", -1));
            var weights = initializers[weightDq.Input[0]];
            var scales = initializers[weightDq.Input[1]];
            Assert.Equal((int)ElementType.Int8, weights.DataType);
            Assert.Equal([weights.Dims[0]], scales.Dims);
            Assert.True(OnnxTensorData.ReadFloats(scales).Distinct().Count() > 1, "per-channel scales differ between channels");

            var inputDq = producers[conv.Input[0]];
            Assert.Equal("DequantizeLinear", inputDq.OpType);
            Assert.Equal("QuantizeLinear", producers[inputDq.Input[0]].OpType);
            Assert.Equal("DequantizeLinear", producers[conv.Input[2]].OpType);
            Assert.Equal((int)ElementType.Int32, initializers[producers[conv.Input[2]].Input[0]].DataType);
        }
        Assert.Equal(54, result.QuantizedWeights); // 53 convs + the FC layer
        Assert.DoesNotContain(graph.Initializer, t => t.DataType == (int)ElementType.Float && t.Dims.Count == 4);
        Assert.All(graph.Node.Where(n => n.OpType == "QuantizeLinear"), q => Assert.Empty(initializers[q.Input[1]].Dims)); // per-tensor
        Assert.True(OnnxModelFile.DefaultOpset(result.Model) >= 13);
    }

    [Fact]
    public void Quantize_TinyResNet_OnnxRuntimeFusesItIntoInt8Kernels()
    {
        var (_, int8, _) = QuantizeTiny(new QuantizationOptions { Activations = ActivationQuantization.UInt8Asymmetric });

        var operators = ModelToolsTestModels.OptimizedOperators(int8, _temp);

        Assert.Contains("QLinearConv", operators);
        Assert.Contains("QLinearAdd", operators);
        Assert.Contains("QGemm", operators);
        Assert.DoesNotContain("Conv", operators);
        Assert.DoesNotContain("Add", operators);
        Assert.DoesNotContain("Relu", operators);
    }

    [Fact]
    public void Quantize_AsymmetricActivations_FoldsReluIntoTheOutputQuantization()
    {
        var (_, _, result) = QuantizeTiny(new QuantizationOptions { Activations = ActivationQuantization.Int8Asymmetric });

        Assert.Equal(49, result.FoldedRelus); // stem + 3 per block × 16 blocks
        Assert.DoesNotContain(result.Model.Graph.Node, n => n.OpType == "Relu");
        var initializers = result.Model.Graph.Initializer.ToDictionary(t => t.Name);
        var stemQ = result.Model.Graph.Node.First(n => n.OpType == "QuantizeLinear" && n.Input[0] == "relu1");
        Assert.Equal(-128, (sbyte)initializers[stemQ.Input[2]].RawData[0]); // range [0, max]: zero point at the bottom
    }

    [Fact]
    public void Quantize_SymmetricActivations_UsesZeroPointZeroEverywhere()
    {
        var (_, _, result) = QuantizeTiny(new QuantizationOptions { Activations = ActivationQuantization.Int8Symmetric });
        var initializers = result.Model.Graph.Initializer.ToDictionary(t => t.Name);

        Assert.Equal(0, result.FoldedRelus);
        Assert.All(result.Model.Graph.Node.Where(n => n.OpType is "QuantizeLinear" or "DequantizeLinear"), n =>
        {
            var zeroPoint = initializers[n.Input[2]];
            Assert.True(zeroPoint.DataType is (int)ElementType.Int8 or (int)ElementType.Int32);
            Assert.All(zeroPoint.RawData.ToByteArray(), b => Assert.Equal(0, b));
        });
    }
}
