using Inference.Server.ModelTools.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>Runs an FP32 reference model and a derived candidate on the same samples, one sample per run, and
/// reports their agreement on the first output. A candidate whose input is UINT8 (a preprocessing variant)
/// reads the samples' pixels as [1, H, W, 3]; otherwise both read the FP32 tensor.</summary>
public static class ModelComparison
{
    public static AccuracyReport Compare(string referencePath, string candidatePath, IReadOnlyList<ModelSample> samples, string tool)
    {
        var referenceSpec = ModelInputSpec.From(OnnxModelFile.Load(referencePath));
        var candidateSpec = ModelInputSpec.From(OnnxModelFile.Load(candidatePath));
        using var reference = OnnxRunner.CreateSession(referencePath);
        using var candidate = OnnxRunner.CreateSession(candidatePath);
        var accumulator = new AccuracyAccumulator();
        foreach (var sample in samples)
        {
            var expected = OnnxRunner.Run(reference, referenceSpec.InputName, sample.Tensor, referenceSpec.SingleSampleShape, referenceSpec.OutputName);
            float[] actual;
            if (candidateSpec.InputType == ElementType.Uint8)
            {
                var pixels = sample.Pixels ?? throw new ModelToolException($"Sample '{sample.Label}' has no pixels for the UINT8 input of {candidatePath}.");
                actual = OnnxRunner.Run(candidate, candidateSpec.InputName, pixels, candidateSpec.SingleSampleShape, candidateSpec.OutputName);
            }
            else
            {
                actual = OnnxRunner.Run(candidate, candidateSpec.InputName, sample.Tensor, candidateSpec.SingleSampleShape, candidateSpec.OutputName);
            }
            accumulator.AddRow(expected, actual);
        }
        return accumulator.ToReport(tool, referencePath, candidatePath);
    }
}
