using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using Microsoft.ML.OnnxRuntime;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Quantization;

/// <summary>
/// Collects activation ranges by running the FP32 model on calibration samples with the wanted intermediate
/// values exposed as extra graph outputs (a temporary copy of the model). Pass 1 records min/max; entropy and
/// percentile calibration run a second pass filling |x| histograms over [0, max|x|] and clip the range at the
/// chosen threshold (a non-negative tensor quantized asymmetrically is clipped for 256 levels, others for 128). Values that are graph inputs are measured on the samples directly.
/// </summary>
public static class Calibrator
{
    public static Dictionary<string, TensorRange> Collect(
        ModelProto model, IReadOnlyCollection<string> tensors, IReadOnlyList<ModelSample> samples,
        QuantizationOptions options)
    {
        if (samples.Count == 0)
        {
            throw new ModelToolException("Calibration needs at least one sample.");
        }
        var spec = ModelInputSpec.From(model);
        var exposed = tensors.Where(t => t != spec.InputName).Distinct().ToList();
        var instrumented = model.Clone();
        var existing = instrumented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in exposed.Where(n => !existing.Contains(n)))
        {
            instrumented.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)ElementType.Float } },
            });
        }
        var path = Path.Combine(Path.GetTempPath(), $"aspire-calibration-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxModelFile.Save(instrumented, path);
            using var session = OnnxRunner.CreateSession(path);
            var ranges = new Dictionary<string, TensorRange>(StringComparer.Ordinal);
            ForEachRun(session, spec, exposed, tensors.Contains(spec.InputName), samples, (name, values) =>
            {
                var (min, max) = MinMax(values);
                ranges[name] = ranges.TryGetValue(name, out var r) ? new TensorRange(Math.Min(r.Min, min), Math.Max(r.Max, max)) : new TensorRange(min, max);
            });
            if (options.Method == CalibrationMethod.MinMax)
            {
                return ranges;
            }

            var histograms = ranges.ToDictionary(kv => kv.Key, kv => new AbsHistogram(options.HistogramBins, kv.Value.AbsMax), StringComparer.Ordinal);
            ForEachRun(session, spec, exposed, tensors.Contains(spec.InputName), samples, (name, values) => histograms[name].Add(values));
            foreach (var (name, histogram) in histograms)
            {
                var threshold = options.Method == CalibrationMethod.Entropy
                    ? CalibrationMath.EntropyThreshold(histogram, Levels(ranges[name], options.Activations))
                    : CalibrationMath.PercentileThreshold(histogram, options.Percentile);
                ranges[name] = ranges[name].Clip(threshold);
            }
            return ranges;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void ForEachRun(
        InferenceSession session, ModelInputSpec spec, List<string> exposed, bool includeInput,
        IReadOnlyList<ModelSample> samples, Action<string, float[]> observe)
    {
        foreach (var sample in samples)
        {
            if (includeInput)
            {
                observe(spec.InputName, sample.Tensor);
            }
            if (exposed.Count == 0)
            {
                continue;
            }
            var values = OnnxRunner.Run(session, spec.InputName, OrtValue.CreateTensorValueFromMemory(sample.Tensor, spec.SingleSampleShape), exposed);
            for (var i = 0; i < exposed.Count; i++)
            {
                observe(exposed[i], values[i]);
            }
        }
    }

    /// <summary>Quantization levels on one side of zero: 256 for a non-negative tensor quantized asymmetrically
    /// (all levels above zero), else 128.</summary>
    private static int Levels(TensorRange range, ActivationQuantization kind) =>
        range.Min >= 0 && kind != ActivationQuantization.Int8Symmetric ? 256 : 128;

    private static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return (0, 0);
        }
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return (min, max);
    }
}
