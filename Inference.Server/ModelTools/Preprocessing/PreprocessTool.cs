using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos;
using ConfigDataType = Inference.Server.Protos.DataType;
using OnnxModel = Inference.Server.Protos.Onnx.ModelProto;

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
        return Run(source, OnnxModelFile.Load(source.ModelPath), "preprocess", output, version, inputName, normalization, heldOut, heldOutCount, console);
    }

    /// <summary>As <see cref="Run(string, string, long?, string, PixelNormalization, string?, int, TextWriter)"/> for
    /// <paramref name="model"/>, a variant of <paramref name="source"/>'s model already made in memory (its FP16 one,
    /// say): written with the source's config and folder files, and compared with the source's own model file; the
    /// report names <paramref name="tool"/>.</summary>
    public static AccuracyReport Run(ModelSource source, OnnxModel model, string tool, string output, long? version, string inputName,
        PixelNormalization normalization, string? heldOut, int heldOutCount, TextWriter console)
    {
        ArgumentNullException.ThrowIfNull(source);
        var spec = ModelInputSpec.From(model);
        var variant = PreprocessingBuilder.Build(model, normalization, inputName);
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
        var report = ModelComparison.Compare(source.ModelPath, written.ModelPath, samples, tool) with
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
