using Inference.Server.Backends.CudnnGraph.Fusion;
using Inference.Server.Backends.CudnnGraph.Graph;
using Inference.Server.Backends.CudnnGraph.Import;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Conversion;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.ModelTools.Quantization;
using Inference.Server.Protos.Onnx;
using Inference.Tests.ModelTools;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Tests.Backends.CudnnGraph;

/// <summary>
/// The engine's import and fusion on the CPU, checked by running the fused steps with <see cref="ReferenceExecutor"/>
/// against ONNX Runtime on the same model and inputs: ResNet-50's structure (the tiny ResNet has its 53 convolutions
/// and 16 residual blocks at 1/16 width), the UINT8 preprocess and FP16 variants our tools make, BatchNormalization
/// folding, and what stops a fusion or the import.
/// </summary>
public sealed class NetworkImportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ResNet_FusesEveryConvolutionWithItsBiasResidualAndRelu_AndComputesWhatOnnxRuntimeDoes()
    {
        var path = ModelToolsTestModels.WriteTinyResNet(_temp);
        var network = Fuse(path);

        var blocks = network.Steps.OfType<ConvBlockStep>().ToList();
        Assert.Equal(53, blocks.Count);
        Assert.Equal(16, blocks.Count(b => b.Residual is not null));
        Assert.Equal(49, blocks.Count(b => b.Relu));
        Assert.All(blocks.Where(b => b.Residual is not null), b => Assert.True(b.Relu, $"{b.Conv.Name}: a residual block without its ReLU"));
        // What is left besides the conv blocks: no ReLU or Add of its own.
        Assert.Equal(["MaxPool", "GlobalAveragePool", "Flatten", "Gemm"],
            network.Steps.OfType<SingleStep>().Select(s => s.Op.Kind));
        Assert.Equal("53 conv blocks (16 with a residual add, 49 with ReLU), 4 other steps: 1 MaxPool, 1 GlobalAveragePool, 1 Flatten, 1 Gemm",
            network.Describe());

        AssertMatchesOnnxRuntime(path, network, batch: 2, tolerance: 1e-4);
    }

    [Fact]
    public void Uint8PreprocessVariant_ImportsItsTransposeCastAndNormalization_AsOneAffineStep()
    {
        var source = ModelToolsTestModels.WriteTinyResNet(_temp);
        var path = _temp.Combine("u8.onnx");
        OnnxModelFile.Save(PreprocessingBuilder.Build(OnnxModelFile.Load(source), PixelNormalization.ImageNet), path);
        var network = Fuse(path);

        var input = Assert.Single(network.Inputs);
        Assert.Equal(ElementType.Uint8, input.Type);
        Assert.Equal([64, 64, 3], input.Shape);
        Assert.IsType<NhwcToNchwOp>(((SingleStep)network.Steps[0]).Op);
        Assert.IsType<CastOp>(((SingleStep)network.Steps[1]).Op);
        Assert.IsType<AffineStep>(network.Steps[2]);
        Assert.IsType<ConvBlockStep>(network.Steps[3]);

        var pixels = new byte[2 * 64 * 64 * 3];
        new Random(7).NextBytes(pixels);
        using var session = OnnxRunner.CreateSession(path);
        var expected = OnnxRunner.Run(session, input.Name, pixels, [2, 64, 64, 3], network.Outputs[0].Name);
        var actual = ReferenceExecutor.Run(network, new Dictionary<string, float[]> { [input.Name] = [.. pixels.Select(p => (float)p)] }, 2)[network.Outputs[0].Name];
        AssertClose(expected, actual, 1e-4);
    }

    [Fact]
    public void Fp16Variant_ReadsHalfWeights_AndAgreesWithOnnxRuntimeWithinHalfPrecision()
    {
        var source = ModelToolsTestModels.WriteTinyResNet(_temp);
        var folder = _temp.Combine("fp16");
        ConvertTool.Run(source, folder, 1, null, 2, TextWriter.Null);
        var path = Path.Combine(folder, "1", "model.onnx");
        Assert.Contains(OnnxModelFile.Load(path).Graph.Initializer, t => t.DataType == (int)ElementType.Float16);
        var network = Fuse(path);

        Assert.Equal(53, network.Steps.OfType<ConvBlockStep>().Count());
        AssertMatchesOnnxRuntime(path, network, batch: 2, tolerance: 2e-2);
    }

    [Fact]
    public void Int8QdqVariant_FoldsItsQuantizedWeights_RoundsItsActivations_AndAgreesWithOnnxRuntimeOnIt()
    {
        var source = ModelToolsTestModels.WriteTinyResNet(_temp);
        var folder = _temp.Combine("int8");
        QuantizeTool.Run(source, folder, 1, SampleSelection.Generated, null, 16, 4, new QuantizationOptions(), TextWriter.Null);
        var path = Path.Combine(folder, "1", "model.onnx");
        var network = Fuse(path);

        // Every activation pair is one step; the convolutions read FP32 weights folded from their INT8 values and scales.
        var pairs = network.Steps.OfType<FakeQuantStep>().ToList();
        Assert.True(pairs.Count >= 53, $"{pairs.Count} activation pairs");
        Assert.DoesNotContain(network.Steps.OfType<SingleStep>(), s => s.Op is QuantizeOp or DequantizeOp);
        Assert.Equal(53, network.Steps.OfType<ConvBlockStep>().Count());

        var input = Assert.Single(network.Inputs);
        var data = new float[2 * input.Elements];
        var random = new Random(5);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1);
        }
        var actual = ReferenceExecutor.Run(network, new Dictionary<string, float[]> { [input.Name] = data }, 2)[network.Outputs[0].Name];
        long[] shape = [2, .. input.Shape.Select(d => (long)d)];
        using var int8 = OnnxRunner.CreateSession(path);
        using var fp32 = OnnxRunner.CreateSession(source);
        var expected = OnnxRunner.Run(int8, input.Name, data, shape, network.Outputs[0].Name);
        var unquantized = OnnxRunner.Run(fp32, input.Name, data, shape, network.Outputs[0].Name);
        // The same as ONNX Runtime on the INT8 model up to float rounding (measured: 7e-7 at an output scale of 2.4),
        // and far from the FP32 model (0.044): the 8-bit rounding really is applied.
        var toInt8 = MaxDifference(expected, actual);
        var toFp32 = MaxDifference(unquantized, actual);
        TestContext.Current.TestOutputHelper?.WriteLine($"largest difference from the INT8 model {toInt8:G4}, from the FP32 model {toFp32:G4}, output scale {expected.Max(v => Math.Abs(v)):G4}");
        Assert.True(toInt8 <= 1e-4 * expected.Max(v => Math.Abs(v)), $"{toInt8:G4} from the INT8 model");
        Assert.True(toInt8 * 100 < toFp32, $"{toInt8:G4} from the INT8 model, {toFp32:G4} from the FP32 one");
    }

    [Fact]
    public void BatchNormalization_IsFoldedIntoTheConvolution_AndTheResultIsUnchanged()
    {
        var g = new OnnxGraphBuilder("bn");
        g.AddInput("x", ElementType.Float, "batch", 3, 9, 9);
        g.AddOutput("y", ElementType.Float, "batch", 4, 5, 5);
        var random = new Random(3);
        void Fill(Span<float> v, float low, float high)
        {
            for (var i = 0; i < v.Length; i++)
            {
                v[i] = low + (float)random.NextDouble() * (high - low);
            }
        }
        var w = g.AddInitializer("w", [4, 3, 3, 3], v => Fill(v, -0.5f, 0.5f));
        var gamma = g.AddInitializer("gamma", [4], v => Fill(v, 0.5f, 1.5f));
        var beta = g.AddInitializer("beta", [4], v => Fill(v, -0.2f, 0.2f));
        var mean = g.AddInitializer("mean", [4], v => Fill(v, -0.3f, 0.3f));
        var variance = g.AddInitializer("var", [4], v => Fill(v, 0.5f, 2f));
        g.AddNode("Conv", ["x", w], ["c"], "conv", OnnxAttributes.Ints("kernel_shape", 3, 3), OnnxAttributes.Ints("strides", 2, 2),
            OnnxAttributes.Ints("pads", 1, 1, 1, 1));
        g.AddNode("BatchNormalization", ["c", gamma, beta, mean, variance], ["b"], "bn", OnnxAttributes.Float("epsilon", 1e-3f));
        g.AddNode("Relu", ["b"], ["y"], "relu");
        var path = _temp.Combine("bn.onnx");
        g.Save(path);
        var network = Fuse(path);

        var block = Assert.IsType<ConvBlockStep>(Assert.Single(network.Steps));
        Assert.True(block.Relu);
        Assert.Equal("y", block.Output);
        Assert.False(network.Tensors.ContainsKey("c"), "the folded intermediate is still a tensor of the plan");
        AssertMatchesOnnxRuntime(path, network, batch: 3, tolerance: 1e-5);
    }

    [Fact]
    public void AConvolutionWhoseOutputIsAlsoAGraphOutput_KeepsItsReluApart()
    {
        var g = new OnnxGraphBuilder("two_readers");
        g.AddInput("x", ElementType.Float, "batch", 2, 4, 4);
        g.AddOutput("c", ElementType.Float, "batch", 2, 4, 4);
        g.AddOutput("y", ElementType.Float, "batch", 2, 4, 4);
        var w = g.AddInitializer("w", [2, 2, 1, 1], v => v.Fill(0.5f));
        g.AddNode("Conv", ["x", w], ["c"], "conv", OnnxAttributes.Ints("kernel_shape", 1, 1));
        g.AddNode("Relu", ["c"], ["y"], "relu");
        var path = _temp.Combine("two.onnx");
        g.Save(path);
        var network = Fuse(path);

        Assert.Collection(network.Steps,
            s => Assert.False(Assert.IsType<ConvBlockStep>(s).Relu),
            s => Assert.IsType<ReluOp>(Assert.IsType<SingleStep>(s).Op));
        AssertMatchesOnnxRuntime(path, network, batch: 1, tolerance: 1e-6);
    }

    [Theory]
    [InlineData("Softmax", "node 'op' (Softmax): the engine does not take this operator")]
    [InlineData("Sigmoid", "node 'op' (Sigmoid): the engine does not take this operator")]
    public void AnOperatorTheEngineDoesNotTake_FailsTheImportNamingTheNode(string op, string message)
    {
        var g = new OnnxGraphBuilder("other");
        g.AddInput("x", ElementType.Float, "batch", 8);
        g.AddOutput("y", ElementType.Float, "batch", 8);
        g.AddNode(op, ["x"], ["y"], "op");
        var path = _temp.Combine("other.onnx");
        g.Save(path);

        var import = OnnxNetworkImporter.Import(OnnxModelFile.Load(path));

        Assert.False(import.IsSuccess);
        Assert.Equal(message, import.Unsupported);
    }

    [Fact]
    public void AGroupedConvolution_FailsTheImportWithTheReason()
    {
        var g = new OnnxGraphBuilder("grouped");
        g.AddInput("x", ElementType.Float, "batch", 4, 4, 4);
        g.AddOutput("y", ElementType.Float, "batch", 4, 4, 4);
        var w = g.AddInitializer("w", [4, 1, 1, 1], v => v.Fill(1));
        g.AddNode("Conv", ["x", w], ["y"], "dw", OnnxAttributes.Ints("kernel_shape", 1, 1), OnnxAttributes.Int("group", 4));
        var path = _temp.Combine("grouped.onnx");
        g.Save(path);

        var import = OnnxNetworkImporter.Import(OnnxModelFile.Load(path));

        Assert.Equal("node 'dw' (Conv): grouped convolutions are not taken", import.Unsupported);
    }

    private static FusedNetwork Fuse(string path)
    {
        var import = OnnxNetworkImporter.Import(OnnxModelFile.Load(path));
        Assert.True(import.IsSuccess, import.Unsupported);
        return FusionPlanner.Plan(import.Graph!);
    }

    private static void AssertMatchesOnnxRuntime(string path, FusedNetwork network, int batch, double tolerance)
    {
        var input = Assert.Single(network.Inputs);
        var data = new float[batch * input.Elements];
        var random = new Random(11);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1);
        }
        using var session = OnnxRunner.CreateSession(path);
        var actual = ReferenceExecutor.Run(network, new Dictionary<string, float[]> { [input.Name] = data }, batch);
        foreach (var output in network.Outputs)
        {
            var expected = OnnxRunner.Run(session, input.Name, data, [batch, .. input.Shape.Select(d => (long)d)], output.Name);
            AssertClose(expected, actual[output.Name], tolerance);
        }
    }

    private static double MaxDifference(float[] a, float[] b) => a.Select((v, i) => Math.Abs(v - b[i])).Max();

    /// <summary>Every element within <paramref name="relative"/> of the largest magnitude of <paramref name="expected"/>.</summary>
    private static void AssertClose(float[] expected, float[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = Math.Max(expected.Max(v => Math.Abs(v)), 1e-6f);
        var worst = expected.Select((v, i) => Math.Abs(v - actual[i])).Max();
        Assert.True(worst <= relative * scale, $"largest difference {worst:G4} against a scale of {scale:G4} (allowed {relative * scale:G4})");
    }
}
