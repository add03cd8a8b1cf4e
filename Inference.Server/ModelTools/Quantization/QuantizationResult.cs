using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Quantization;

/// <summary>What <see cref="QdqQuantizer"/> produced: the QDQ model and counts of what it rewrote.</summary>
/// <param name="QuantizedWeights">Weight initializers stored as per-channel INT8 behind a DequantizeLinear.</param>
/// <param name="QuantizedBiases">Biases stored as INT32 with scale input_scale × weight_scale[c].</param>
/// <param name="QuantizedActivations">Activation values given a QuantizeLinear/DequantizeLinear pair.</param>
/// <param name="FoldedBatchNorms">BatchNormalization nodes folded into the preceding Conv.</param>
/// <param name="FoldedRelus">ReLUs folded into their producer's output quantization (asymmetric activations).</param>
public sealed record QuantizationResult(
    ModelProto Model,
    int QuantizedWeights,
    int QuantizedBiases,
    int QuantizedActivations,
    int FoldedBatchNorms,
    int FoldedRelus,
    IReadOnlyDictionary<string, TensorRange> Ranges);
