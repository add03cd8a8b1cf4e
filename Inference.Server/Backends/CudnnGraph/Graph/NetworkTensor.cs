using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.Backends.CudnnGraph.Graph;

/// <summary>A tensor of the network: its per-sample shape (the batch dimension left out: [C, H, W] for images,
/// [F] for features, [H, W, C] for an NHWC input) and its element type.</summary>
public sealed record NetworkTensor(string Name, IReadOnlyList<int> Shape, ElementType Type)
{
    /// <summary>Elements per sample.</summary>
    public long Elements => Shape.Aggregate(1L, (p, d) => p * d);

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
