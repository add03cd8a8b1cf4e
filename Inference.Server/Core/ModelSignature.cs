namespace Inference.Server.Core;

/// <summary>A tensor as a model file declares it (-1 for a dynamic dimension).</summary>
public sealed record TensorSignature(string Name, DataType DataType, long[] Shape);

/// <summary>The inputs and outputs a model file declares: what config auto-complete starts from.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs);
