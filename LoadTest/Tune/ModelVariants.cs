using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Conversion;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;
using Inference.Server.ModelTools.Quantization;
using ModelConfig = Inference.Server.Protos.ModelConfig;
using Inference.Server.Repository;

namespace LoadTest.Tune;

/// <summary>
/// Builds the precision variants with the project's model tools, each as its own model folder
/// <c>&lt;repository&gt;/&lt;model&gt;_&lt;precision&gt;</c> (version 1): <c>fp32</c> (the source as is), <c>fp16</c>
/// (<c>convert --fp16</c>), <c>int8</c> (<c>quantize --int8</c>, calibrated on <c>calibration</c>: a folder of PNG
/// images or <c>generated</c>), <c>preprocess</c> (the UINT8 NHWC input variant) and <c>fp16-preprocess</c> (the
/// UINT8 NHWC variant of the FP16 one: both tools in a row, as the hand-tuned GPU configuration is made). Each derived
/// variant's accuracy against FP32 on held-out inputs comes from the tool's own report (for <c>fp16-preprocess</c>, a
/// comparison with the FP32 source itself); one under the cosine threshold is excluded.
/// A variant that fails to build is returned as failed with the tool's message: the search goes on without it.
/// </summary>
public static class ModelVariants
{
    public static string ModelName(string model, string precision) => $"{model}_{precision}";

    public static VariantRecord Build(string sourcePath, string model, string precision, string repository, string calibration,
        double minCosine, TextWriter log)
    {
        var name = ModelName(model, precision);
        var folder = Path.Combine(repository, name);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true); // a build a stopped run left half done
        }
        var heldOut = calibration == SampleSelection.Generated ? null : calibration;
        AccuracyReport? report;
        try
        {
            report = precision switch
            {
                "fp32" => WriteSource(sourcePath, folder),
                "fp16" => ConvertTool.Run(sourcePath, folder, 1, heldOut, 16, log),
                "int8" => QuantizeTool.Run(sourcePath, folder, 1, calibration, null, 32, 16, new QuantizationOptions(), log),
                "preprocess" => PreprocessTool.Run(sourcePath, folder, 1, PreprocessingBuilder.DefaultInputName, PixelNormalization.ImageNet, heldOut, 16, log),
                "fp16-preprocess" => Fp16Preprocess(sourcePath, folder, heldOut, log),
                _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision"),
            };
            _ = BaseConfig(repository, name);
        }
        catch (Exception e) when (e is not OperationCanceledException and not ArgumentOutOfRangeException)
        {
            // Any failure of one tool on one model (an operator it cannot convert, an input that is no image, a
            // model ONNX Runtime refuses) ends that variant only; the message is the report's.
            return new VariantRecord(precision, name, PointStatus.Failed, $"{e.GetType().Name}: {e.Message}", null);
        }
        if (report is null)
        {
            return new VariantRecord(precision, name, PointStatus.Measured, null, null);
        }
        var accuracy = new VariantAccuracy(report.Samples, report.Top1Agreement, report.CosineMean, report.CosineMin, report.MaxAbsDiff);
        return report.CosineMean < minCosine
            ? new VariantRecord(precision, name, PointStatus.Excluded,
                FormattableString.Invariant($"accuracy: cosine similarity mean {report.CosineMean:F5} < {minCosine} against FP32"), accuracy)
            : new VariantRecord(precision, name, PointStatus.Measured, null, accuracy);
    }

    /// <summary>The variant's config as the server completes it from its config.pbtxt and model file (what each
    /// point's config starts from). Throws <see cref="InvalidOperationException"/> with the reason when it does not
    /// complete.</summary>
    public static ModelConfig BaseConfig(string repository, string name)
    {
        var folder = Path.Combine(repository, name);
        var configPath = Path.Combine(folder, ModelSource.ConfigFileName);
        var parsed = PbtxtParser.ParseModelConfig(File.ReadAllText(configPath), ModelSource.ConfigFileName);
        if (!parsed.IsSuccess)
        {
            throw new InvalidOperationException($"{name}/config.pbtxt: {parsed.Error!.Message}");
        }
        var modelPath = Path.Combine(folder, "1", ModelSource.ModelFileName);
        var signature = OnnxSignatureReader.TryRead(modelPath);
        if (!signature.IsSuccess)
        {
            throw new InvalidOperationException($"{name}/1/model.onnx: {signature.Error!.Message}");
        }
        var completed = ModelConfigAutoComplete.Complete(parsed.Value, signature.Value!, name, gpuAvailable: false);
        return completed.IsSuccess ? completed.Value! : throw new InvalidOperationException($"{name}: {completed.Error!.Message}");
    }

    /// <summary><c>convert --fp16</c> in memory, then <c>preprocess</c> of that into <paramref name="folder"/>, with the
    /// source's config; the report (also the variant's accuracy.json) compares the result with the FP32 source, fed
    /// the same pixels normalized on the host.</summary>
    private static AccuracyReport Fp16Preprocess(string sourcePath, string folder, string? heldOut, TextWriter log)
    {
        var source = ModelSource.Resolve(sourcePath);
        var fp16 = Fp16Converter.Convert(OnnxModelFile.Load(source.ModelPath));
        return PreprocessTool.Run(source, fp16, "convert --fp16 then preprocess", folder, 1, PreprocessingBuilder.DefaultInputName,
            PixelNormalization.ImageNet, heldOut, 16, log);
    }

    private static AccuracyReport? WriteSource(string sourcePath, string folder)
    {
        var source = ModelSource.Resolve(sourcePath);
        ModelOutput.Write(OnnxModelFile.Load(source.ModelPath), source, folder, 1);
        return null;
    }
}
