namespace Inference.Server.ModelTools.Quantization;

/// <summary>Scale and zero point of a per-tensor activation quantization: <c>real = (q - ZeroPoint) * Scale</c>,
/// q in [-128, 127] (signed) or [0, 255]. Real zero is always exactly representable.</summary>
public readonly record struct QuantizationParameters(float Scale, int ZeroPoint, bool Signed)
{
    public static QuantizationParameters From(TensorRange range, ActivationQuantization kind)
    {
        if (kind == ActivationQuantization.Int8Symmetric)
        {
            return new(NonZero(range.AbsMax / 127f), 0, true);
        }
        var min = Math.Min(range.Min, 0f);
        var max = Math.Max(range.Max, 0f);
        var scale = NonZero((max - min) / 255f);
        var qmin = kind == ActivationQuantization.Int8Asymmetric ? -128 : 0;
        var zeroPoint = (int)Math.Clamp(Math.Round(qmin - min / scale), qmin, qmin + 255);
        return new(scale, zeroPoint, kind == ActivationQuantization.Int8Asymmetric);
    }

    /// <summary>Per-output-channel symmetric INT8 weight quantization of <paramref name="weights"/> laid out with
    /// <paramref name="channels"/> channels along <paramref name="axis"/> of <paramref name="dims"/>: scale[c] =
    /// max|w_c| / 127, q = round(w / scale[c]) in [-127, 127].</summary>
    public static (sbyte[] Quantized, float[] Scales) QuantizeWeights(ReadOnlySpan<float> weights, IReadOnlyList<long> dims, int axis)
    {
        var channels = (int)dims[axis];
        var inner = 1L;
        for (var d = axis + 1; d < dims.Count; d++)
        {
            inner *= dims[d];
        }
        var scales = new float[channels];
        for (var i = 0; i < weights.Length; i++)
        {
            var c = (int)(i / inner % channels);
            scales[c] = Math.Max(scales[c], Math.Abs(weights[i]));
        }
        for (var c = 0; c < channels; c++)
        {
            scales[c] = NonZero(scales[c] / 127f);
        }
        var quantized = new sbyte[weights.Length];
        for (var i = 0; i < weights.Length; i++)
        {
            var c = (int)(i / inner % channels);
            quantized[i] = (sbyte)Math.Clamp(Math.Round(weights[i] / scales[c]), -127, 127);
        }
        return (quantized, scales);
    }

    private static float NonZero(float scale) => scale > 0 && float.IsFinite(scale) ? scale : 1f;
}
