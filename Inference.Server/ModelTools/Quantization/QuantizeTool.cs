using System.Globalization;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;

namespace Inference.Server.ModelTools.Quantization;

/// <summary><c>quantize --int8</c>: calibrates on images or generated inputs, writes the QDQ model and its
/// accuracy report on held-out samples.</summary>
public static class QuantizeTool
{
    public static AccuracyReport Run(
        string model, string output, long? version, string calibration, string? heldOut, int calibrationCount, int heldOutCount,
        QuantizationOptions options, TextWriter console)
    {
        var source = ModelSource.Resolve(model);
        var fp32 = OnnxModelFile.Load(source.ModelPath);
        var (calibrationSamples, heldOutSamples) = SampleSelection.ForQuantization(
            ModelInputSpec.From(fp32), calibration, heldOut, calibrationCount, heldOutCount, PixelNormalization.ImageNet);
        var result = QdqQuantizer.Quantize(fp32, calibrationSamples, options);
        var written = ModelOutput.Write(result.Model, source, output, version);
        var c = CultureInfo.InvariantCulture;
        var report = ModelComparison.Compare(source.ModelPath, written.ModelPath, heldOutSamples, "quantize --int8") with
        {
            Details = new Dictionary<string, string>
            {
                ["method"] = options.Method.ToString(),
                ["percentile"] = options.Method == CalibrationMethod.Percentile ? options.Percentile.ToString(c) : "",
                ["activations"] = options.Activations.ToString(),
                ["calibration"] = $"{calibration} ({calibrationSamples.Count} samples)",
                ["held_out"] = $"{heldOut ?? (calibration == SampleSelection.Generated ? SampleSelection.Generated : "last quarter of " + calibration)} ({heldOutSamples.Count} samples)",
                ["quantized_weights"] = result.QuantizedWeights.ToString(c),
                ["quantized_biases"] = result.QuantizedBiases.ToString(c),
                ["quantized_activations"] = result.QuantizedActivations.ToString(c),
                ["folded_batch_norms"] = result.FoldedBatchNorms.ToString(c),
                ["folded_relus"] = result.FoldedRelus.ToString(c),
            },
        };
        written.SaveReport(report, console);
        return report;
    }
}
