using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.ModelTools.Quantization;

namespace Inference.Tests.ModelTools;

/// <summary>
/// INT8 accuracy on a real pretrained network and real photographs: the ImageNet ResNet-18 featurizer of the NuGet
/// package Microsoft.ML.DnnImageFeaturizer.ResNet18 (a CNTK export, opset 8, batch norms unfolded; the package
/// copies it under DnnImageModels/ of the test output) and the sample photographs of Debian's python3-skimage.
/// The featurizer reads BGR pixels minus a mean image, which the package's own ResNetPreprocess.onnx computes from
/// RGB 0..255 NCHW; calibration and held-out photos are disjoint.
/// </summary>
public sealed class ResNet18FeaturizerInt8Tests : IDisposable
{
    public const string PhotoFolder = "/usr/lib/python3/dist-packages/skimage/data";

    /// <summary>Calibration photographs (natural images).</summary>
    public static readonly string[] CalibrationPhotos = ["astronaut.png", "brick.png", "camera.png", "coins.png", "grass.png", "gravel.png", "ihc.png", "moon.png"];

    /// <summary>Held-out photographs, none used for calibration.</summary>
    public static readonly string[] HeldOutPhotos = ["chelsea.png", "coffee.png", "motorcycle_left.png", "motorcycle_right.png", "cell.png", "clock_motion.png", "color.png", "page.png"];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string ModelFile(string folder, string file) => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", folder, file);

    [Theory]
    [InlineData(ActivationQuantization.UInt8Asymmetric, CalibrationMethod.Entropy)]
    [InlineData(ActivationQuantization.UInt8Asymmetric, CalibrationMethod.Percentile)]
    public void Int8Featurizer_KeepsCosineSimilarityAtLeast0_99OnHeldOutPhotographs(ActivationQuantization activations, CalibrationMethod method)
    {
        var featurizer = ModelFile("ResNet18Onnx", "ResNet18.onnx");
        var preprocess = ModelFile("ResNetPrepOnnx", "ResNetPreprocess.onnx");
        if (!File.Exists(featurizer) || !File.Exists(preprocess))
        {
            Assert.Skip($"The ResNet-18 featurizer of Microsoft.ML.DnnImageFeaturizer.ResNet18 is not at {featurizer}.");
        }
        if (!CalibrationPhotos.Concat(HeldOutPhotos).All(p => File.Exists(Path.Combine(PhotoFolder, p))))
        {
            Assert.Skip($"The sample photographs of python3-skimage are not in {PhotoFolder} (apt-get install python3-skimage).");
        }

        var fp32 = OnnxModelFile.Load(featurizer);
        var calibration = Photos(CalibrationPhotos, preprocess);
        var heldOut = Photos(HeldOutPhotos, preprocess);
        var result = QdqQuantizer.Quantize(fp32, calibration, new QuantizationOptions
        {
            Method = method, Activations = activations,
        });
        var int8 = _temp.Combine("resnet18-int8.onnx");
        OnnxModelFile.Save(result.Model, int8);

        var report = ModelComparison.Compare(featurizer, int8, heldOut, "quantize --int8");

        Assert.Equal(22, result.FoldedBatchNorms); // every batch norm follows a conv
        Assert.True(report.CosineMean >= 0.99, report.ToString());
        Assert.True(report.CosineMin >= 0.98, report.ToString());
        TestContext.Current.SendDiagnosticMessage($"{activations} {method}: {report}");
    }

    /// <summary>Photographs decoded and cropped to 224×224 RGB 0..255, through the package's preprocessing model.</summary>
    private static IReadOnlyList<ModelSample> Photos(IEnumerable<string> names, string preprocessModel)
    {
        var spec = new ModelInputSpec("OriginalInput", Inference.Server.Protos.Onnx.TensorProto.Types.DataType.Float, [1, 3, 224, 224], "PreprocessedInput");
        var raw = ModelSamples.FromImages(names.Select(n => Path.Combine(PhotoFolder, n)), spec, PixelNormalization.Raw);
        using var session = OnnxRunner.CreateSession(preprocessModel);
        var input = session.InputMetadata.Keys.Single();
        var output = session.OutputMetadata.Keys.Single();
        return [.. raw.Select(s => s with { Tensor = OnnxRunner.Run(session, input, s.Tensor, [1, 3, 224, 224], output) })];
    }
}
