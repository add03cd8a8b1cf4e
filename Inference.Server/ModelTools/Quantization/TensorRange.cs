namespace Inference.Server.ModelTools.Quantization;

/// <summary>A real-valued range [Min, Max] an activation is quantized over.</summary>
public readonly record struct TensorRange(float Min, float Max)
{
    public float AbsMax => Math.Max(Math.Abs(Min), Math.Abs(Max));

    /// <summary>This range clipped to [-threshold, threshold].</summary>
    public TensorRange Clip(float threshold) => new(Math.Max(Min, -threshold), Math.Min(Max, threshold));
}
