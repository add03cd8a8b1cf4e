using Inference.Server.Core;

namespace Inference.Server.Repository;

/// <summary>One input or output of a loaded model as requests see it. <see cref="Dims"/> excludes the batch
/// dim (-1 = any size); <see cref="Reshape"/> is the shape the model itself takes (null: same as Dims).
/// <see cref="Index"/> is the position in the config. Immutable.</summary>
public sealed record TensorSchema(string Name, DataType DataType, long[] Dims, long[]? Reshape, bool Optional, int Index, string LabelFilename = "");
