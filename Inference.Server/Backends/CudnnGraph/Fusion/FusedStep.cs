using Inference.Server.Backends.CudnnGraph.Graph;

namespace Inference.Server.Backends.CudnnGraph.Fusion;

/// <summary>One step of a <see cref="FusedNetwork"/>, in execution order; it writes <see cref="Output"/>.</summary>
public abstract record FusedStep(string Output)
{
    /// <summary>The tensors the step reads.</summary>
    public abstract IReadOnlyList<string> Reads { get; }
}

/// <summary>
/// One cuDNN operation graph: conv -> add bias -> [add <see cref="Residual"/>] -> [ReLU], with any per-channel
/// scale and shift that followed the convolution (BatchNormalization) folded into its weights and bias.
/// </summary>
public sealed record ConvBlockStep(ConvOp Conv, string? Residual, bool Relu, string Output) : FusedStep(Output)
{
    public override IReadOnlyList<string> Reads => Residual is null ? [Conv.Input] : [Conv.Input, Residual];

    /// <summary>The fused pattern, for logs and the plan cache's operation text: <c>conv+bias[+add][+relu]</c>.</summary>
    public string Pattern => "conv+bias" + (Residual is null ? "" : "+add") + (Relu ? "+relu" : "");
}

/// <summary>Per-channel scales and shifts in a row, as one (the preprocess variant's Mul and Add).</summary>
public sealed record AffineStep(ChannelAffineOp Affine) : FusedStep(Affine.Output)
{
    public override IReadOnlyList<string> Reads => [Affine.Input];
}

/// <summary>An operation the planner leaves as it is (pooling, the final layer, casts, a lone ReLU or Add).</summary>
public sealed record SingleStep(NetworkOp Op) : FusedStep(Op.Output)
{
    public override IReadOnlyList<string> Reads => Op.Inputs;
}

/// <summary>A QuantizeLinear whose only reader is its DequantizeLinear (a QDQ model's activation pair): the
/// activation rounded to the 8-bit grid and back, in one step. The 8-bit engine stores such tensors as 8-bit.</summary>
public sealed record FakeQuantStep(QuantizeOp Quantize, DequantizeOp Dequantize) : FusedStep(Dequantize.Output)
{
    public override IReadOnlyList<string> Reads => [Quantize.Input];
}
