using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>How one model input is fed. <see cref="Reshape"/> (from the config's <c>reshape</c>) is the shape
/// the model sees instead of the request's (without the batch dimension for batching models); at most one -1,
/// resolved from the element count.</summary>
internal sealed record InputPlan(string Name, DataType DataType, TensorElementType ElementType, long[]? Reshape, PinnedStagingBuffer Staging)
{
    public int ElementSize { get; } = DataType.ElementSize();
}

/// <summary>How one model output is returned. <see cref="ClientDims"/> (the config's dims, set only when the
/// config reshapes the output) replace the model's non-batch dims; <see cref="LabelSuffixes"/>[i] is the UTF-8
/// of ":label" for class i.</summary>
internal sealed record OutputPlan(string Name, DataType DataType, long[]? ClientDims, byte[][]? LabelSuffixes)
{
    public int ElementSize { get; } = DataType.ElementSize();
}
