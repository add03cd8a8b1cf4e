namespace Inference.Server.ModelTools.Quantization;

/// <summary>Options of <see cref="QdqQuantizer"/>.</summary>
public sealed record QuantizationOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Entropy;

    /// <summary>Percentile of |x| kept by <see cref="CalibrationMethod.Percentile"/>, in (0, 100].</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>UINT8 asymmetric by default: the form ONNX Runtime's CPU provider fuses completely (QLinearConv,
    /// QLinearAdd, QGemm with ReLUs folded); <see cref="ActivationQuantization.Int8Symmetric"/> is TensorRT's form.</summary>
    public ActivationQuantization Activations { get; init; } = ActivationQuantization.UInt8Asymmetric;

    /// <summary>Bins of the |x| histograms used by entropy and percentile calibration (TensorRT uses 2048).</summary>
    public int HistogramBins { get; init; } = 2048;
}
