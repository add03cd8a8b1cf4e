using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos;
using ConfigDataType = Inference.Server.Protos.DataType;

namespace Inference.Server.ModelTools.Preprocessing;

/// <summary><c>preprocess</c>: writes the UINT8 NHWC variant of an image model (config input TYPE_UINT8,
/// FORMAT_NHWC, dims [H, W, 3]) and its accuracy report: the variant fed 8-bit pixels against the source fed the
/// same pixels normalized on the host.</summary>
public static class PreprocessTool
{
    public static AccuracyReport Run(
        string model, string output, long? version, string inputName, PixelNormalization normalization, string? heldOut, int heldOutCount, TextWriter console)
    {
        var source = ModelSource.Resolve(model);
        var fp32 = OnnxModelFile.Load(source.ModelPath);
        var spec = ModelInputSpec.From(fp32);
        var variant = PreprocessingBuilder.Build(fp32, normalization, inputName);
        var written = ModelOutput.Write(variant, source, output, version, config =>
        {
            var input = config.Input.FirstOrDefault(i => i.Name == spec.InputName);
            if (input is null)
            {
                return;
            }
            input.Name = inputName;
            input.DataType = ConfigDataType.TypeUint8;
            input.Format = ModelInput.Types.Format.Nhwc;
            input.Dims.Clear();
            input.Dims.Add([spec.Dims[2], spec.Dims[3], 3]);
        });
        var samples = SampleSelection.HeldOut(spec, heldOut, heldOutCount, normalization);
        var report = ModelComparison.Compare(source.ModelPath, written.ModelPath, samples, "preprocess") with
        {
            Details = new Dictionary<string, string>
            {
                ["input"] = $"{inputName} UINT8 [batch, {spec.Dims[2]}, {spec.Dims[3]}, 3]",
                ["mean"] = string.Join(",", normalization.Mean),
                ["std"] = string.Join(",", normalization.Std),
                ["scale"] = normalization.Scale.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                ["held_out"] = heldOut ?? SampleSelection.Generated,
            },
        };
        written.SaveReport(report, console);
        return report;
    }
}
