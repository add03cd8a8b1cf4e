using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.Protos;
using Inference.Server.Repository;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Tests.ModelTools;

public sealed class PreprocessingBuilderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Variant_FedPixels_EqualsFp32ModelFedTheNormalizedNchwTensor()
    {
        var fp32 = ModelToolsTestModels.WriteTinyResNet(_temp);
        var variant = _temp.Combine("u8.onnx");
        OnnxModelFile.Save(PreprocessingBuilder.Build(OnnxModelFile.Load(fp32), PixelNormalization.ImageNet), variant);
        var samples = ModelToolsTestModels.Samples(fp32, 4, 11);

        using var reference = OnnxRunner.CreateSession(fp32);
        using var candidate = OnnxRunner.CreateSession(variant);
        foreach (var sample in samples)
        {
            var expected = OnnxRunner.Run(reference, "input", sample.Tensor, [1, 3, 64, 64], "logits");
            var actual = OnnxRunner.Run(candidate, "pixels", sample.Pixels!, [1, 64, 64, 3], "logits");
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i], actual[i], 1e-4f);
            }
        }
    }

    [Fact]
    public void Build_ReplacesTheInputWithUint8Nhwc_KeepingTheBatchDimension()
    {
        var model = PreprocessingBuilder.Build(OnnxModelFile.Load(ModelToolsTestModels.WriteTinyResNet(_temp)), PixelNormalization.ImageNet);

        var input = Assert.Single(model.Graph.Input);
        Assert.Equal("pixels", input.Name);
        Assert.Equal((int)ElementType.Uint8, input.Type.TensorType.ElemType);
        var dims = input.Type.TensorType.Shape.Dim;
        Assert.Equal("batch", dims[0].DimParam);
        Assert.Equal([64L, 64L, 3L], dims.Skip(1).Select(d => d.DimValue));
        Assert.Equal(["Transpose", "Cast", "Mul", "Add"], model.Graph.Node.Take(4).Select(n => n.OpType));
    }

    [Fact]
    public void PreprocessTool_WritesAModelFolderWithAUint8NhwcConfigAndAnExactReport()
    {
        var repository = _temp.Combine("repo");
        var source = DefaultModelRepository.WriteSmallModel(repository);
        var output = Path.Combine(repository, "resnet_tiny_u8");
        var console = new StringWriter();

        var report = PreprocessTool.Run(source, output, null, "pixels", PixelNormalization.ImageNet, null, 4, console);

        Assert.True(report.MaxAbsDiff < 1e-4, report.ToString());
        Assert.Equal(1.0, report.Top1Agreement);
        var config = PbtxtParser.ParseModelConfig(File.ReadAllText(Path.Combine(output, "config.pbtxt")), "config.pbtxt").Value!;
        Assert.Equal("resnet_tiny_u8", config.Name);
        var input = Assert.Single(config.Input);
        Assert.Equal(("pixels", DataType.TypeUint8, ModelInput.Types.Format.Nhwc), (input.Name, input.DataType, input.Format));
        Assert.Equal([64L, 64L, 3L], input.Dims);
        Assert.True(File.Exists(Path.Combine(output, "1", "model.onnx")));
        Assert.True(File.Exists(Path.Combine(output, "labels.txt")));
        Assert.Contains("\"top1_agreement\": 1", File.ReadAllText(Path.Combine(output, "1", "accuracy.json")));
        Assert.Contains("preprocess: 4 held-out samples", console.ToString());
    }
}
