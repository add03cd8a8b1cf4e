using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;
using LoadTest.Tune;

namespace Inference.Tests.LoadTest.Tune;

public sealed class ModelVariantsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Fp16Preprocess_IsTheUint8NhwcVariantOfTheFp16One_WithItsAccuracyAgainstTheFp32Source()
    {
        var source = DefaultModelRepository.WriteSmallModel(_temp.Combine("source"));
        var repository = _temp.Combine("variants");
        Directory.CreateDirectory(repository);

        var record = ModelVariants.Build(source, "tiny", "fp16-preprocess", repository, SampleSelection.Generated, 0.99, TextWriter.Null);

        Assert.True(record.Status == PointStatus.Measured, record.Message);
        var folder = Path.Combine(repository, "tiny_fp16-preprocess");
        var config = PbtxtParser.ParseModelConfig(File.ReadAllText(Path.Combine(folder, "config.pbtxt")), "config.pbtxt").Value!;
        var input = Assert.Single(config.Input);
        Assert.Equal((DataType.TypeUint8, ModelInput.Types.Format.Nhwc), (input.DataType, input.Format));
        // FP16 weights: the file holds FLOAT16 initializers, and the scratch folder of the FP16 step is gone.
        var model = Inference.Server.ModelTools.Onnx.OnnxModelFile.Load(Path.Combine(folder, "1", "model.onnx"));
        Assert.Contains(model.Graph.Initializer, t => t.DataType == (int)Inference.Server.Protos.Onnx.TensorProto.Types.DataType.Float16);
        Assert.False(Directory.Exists(folder + ".fp16-scratch"));
        // Accuracy is against the FP32 source (an FP16 model agrees closely but not exactly), and is the file's too.
        Assert.NotNull(record.Accuracy);
        Assert.InRange(record.Accuracy!.CosineMean, 0.99, 1.0);
        Assert.True(record.Accuracy.MaxAbsDiff > 0, "an FP16 variant matched FP32 exactly: was it compared with the FP16 model?");
        var saved = File.ReadAllText(Path.Combine(folder, "1", "accuracy.json"));
        Assert.Contains("convert --fp16 then preprocess", saved, StringComparison.Ordinal);
    }
}
