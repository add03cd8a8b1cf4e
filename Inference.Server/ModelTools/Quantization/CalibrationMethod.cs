namespace Inference.Server.ModelTools.Quantization;

/// <summary>How an activation's quantization range is chosen from calibration data.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum.</summary>
    MinMax,

    /// <summary>TensorRT's entropy calibration: the clipping threshold of |x| whose 8-bit quantized distribution has
    /// the smallest KL divergence from the observed one.</summary>
    Entropy,

    /// <summary>The given percentile of |x| (99.99 by default) as clipping threshold.</summary>
    Percentile,
}
