using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Preprocessing;

namespace Inference.Server.ModelTools.Conversion;

/// <summary><c>convert --fp16</c>: writes the FP16 variant of a model and its accuracy report against the source.</summary>
public static class ConvertTool
{
    public static AccuracyReport Run(string model, string output, long? version, string? heldOut, int heldOutCount, TextWriter console)
    {
        var source = ModelSource.Resolve(model);
        var fp32 = OnnxModelFile.Load(source.ModelPath);
        var converted = Fp16Converter.Convert(fp32);
        var written = ModelOutput.Write(converted, source, output, version);
        var samples = SampleSelection.HeldOut(ModelInputSpec.From(fp32), heldOut, heldOutCount, PixelNormalization.ImageNet);
        var report = ModelComparison.Compare(source.ModelPath, written.ModelPath, samples, "convert --fp16") with
        {
            Details = new Dictionary<string, string>
            {
                ["kept_in_fp32"] = string.Join(",", Fp16Converter.KeptInFp32.Order(StringComparer.Ordinal)),
                ["held_out"] = heldOut ?? SampleSelection.Generated,
            },
        };
        written.SaveReport(report, console);
        return report;
    }
}
