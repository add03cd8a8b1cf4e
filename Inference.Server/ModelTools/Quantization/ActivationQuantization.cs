namespace Inference.Server.ModelTools.Quantization;

/// <summary>How activations are quantized (weights are always per-channel symmetric INT8).</summary>
public enum ActivationQuantization
{
    /// <summary>INT8 with zero point 0: the explicit-quantization form TensorRT consumes. ReLUs stay in the graph
    /// between Q/DQ pairs.</summary>
    Int8Symmetric,

    /// <summary>INT8 with a zero point (ONNX Runtime's default, S8S8). A ReLU after Conv/Gemm/MatMul/Add is folded
    /// into the output quantization (its range starts at 0, so the quantizer clamps at 0).</summary>
    Int8Asymmetric,

    /// <summary>UINT8 with a zero point (U8S8), ReLUs folded as for <see cref="Int8Asymmetric"/>.</summary>
    UInt8Asymmetric,
}
