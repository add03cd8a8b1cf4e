namespace LoadTest.Model;

/// <summary>One tensor of the model's metadata; <see cref="Shape"/> includes the batch dimension (-1) when the
/// model batches; -1 marks a variable dimension.</summary>
public sealed record TensorInfo(string Name, string DataType, long[] Shape);

/// <summary>The model's signature as the metadata and config endpoints report it.</summary>
public sealed record ModelInfo(string Name, IReadOnlyList<TensorInfo> Inputs, IReadOnlyList<TensorInfo> Outputs, int MaxBatchSize);
