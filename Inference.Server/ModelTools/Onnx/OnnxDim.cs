namespace Inference.Server.ModelTools.Onnx;

/// <summary>One dimension of a graph input or output: a fixed size, or a named symbol such as "batch"
/// (ONNX's dim_param) for a size chosen at run time. Converts implicitly from <see cref="long"/> and
/// <see cref="string"/>, so shapes read as <c>["batch", 3, 224, 224]</c>.</summary>
public readonly record struct OnnxDim(long Value, string? Symbol)
{
    public bool IsSymbolic => Symbol is not null;

    public static implicit operator OnnxDim(long value) => new(value, null);

    public static implicit operator OnnxDim(string symbol) => new(-1, symbol);
}
