using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Conversion;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Tests.ModelTools;

public sealed class Fp16ConverterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Convert_TinyResNet_LoadsInOnnxRuntimeAndAgreesWithFp32()
    {
        var fp32 = ModelToolsTestModels.WriteTinyResNet(_temp);
        var converted = Fp16Converter.Convert(OnnxModelFile.Load(fp32));
        var fp16 = _temp.Combine("fp16.onnx");
        OnnxModelFile.Save(converted, fp16);

        var report = ModelComparison.Compare(fp32, fp16, ModelToolsTestModels.Samples(fp32, 8, 5), "convert --fp16");

        Assert.Equal(1.0, report.Top1Agreement);
        Assert.True(report.CosineMin >= 0.999, report.ToString());
        Assert.True(report.MaxAbsDiff > 0, "FP16 compute should differ from FP32 in the last bits");
    }

    [Fact]
    public void Convert_TinyResNet_StoresWeightsInFp16AndKeepsFp32InputsAndOutputs()
    {
        var fp32 = ModelToolsTestModels.WriteTinyResNet(_temp);
        var converted = Fp16Converter.Convert(OnnxModelFile.Load(fp32));

        Assert.All(converted.Graph.Initializer, t => Assert.Equal((int)ElementType.Float16, t.DataType));
        Assert.Equal((int)ElementType.Float, converted.Graph.Input[0].Type.TensorType.ElemType);
        Assert.Equal((int)ElementType.Float, converted.Graph.Output[0].Type.TensorType.ElemType);
        var casts = converted.Graph.Node.Where(n => n.OpType == "Cast").ToList();
        Assert.Equal(2, casts.Count); // one at the input, one at the output
        Assert.Equal("logits", converted.Graph.Node.Last().Output[0]);
    }

    [Fact]
    public void Convert_SoftmaxStaysFp32BetweenCasts_AndResultMatches()
    {
        var fp32 = ModelToolsTestModels.WriteGemmSoftmax(_temp);
        var converted = Fp16Converter.Convert(OnnxModelFile.Load(fp32));
        var fp16 = _temp.Combine("fp16.onnx");
        OnnxModelFile.Save(converted, fp16);

        var softmax = converted.Graph.Node.Single(n => n.OpType == "Softmax");
        var producer = converted.Graph.Node.Single(n => n.Output.Contains(softmax.Input[0]));
        Assert.Equal("Cast", producer.OpType);
        Assert.Equal((long)ElementType.Float, OnnxNodes.IntAttribute(producer, "to", 0));
        Assert.Equal("probabilities", softmax.Output[0]); // FP32 already: no output cast
        Assert.Equal((int)ElementType.Float16, converted.Graph.Initializer.Single(t => t.Name == "w").DataType);

        var report = ModelComparison.Compare(fp32, fp16, ModelToolsTestModels.Samples(fp32, 8, 6), "convert --fp16");
        Assert.True(report.CosineMin >= 0.9999, report.ToString());
        Assert.True(report.MaxAbsDiff < 1e-2, report.ToString());
    }

    [Fact]
    public void Convert_DoesNotModifyTheSourceModel()
    {
        var source = OnnxModelFile.Load(ModelToolsTestModels.WriteTinyResNet(_temp));
        var before = source.Clone();
        Fp16Converter.Convert(source);
        Assert.Equal(before, source);
    }
}
