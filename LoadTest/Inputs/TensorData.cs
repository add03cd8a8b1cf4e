namespace LoadTest.Inputs;

/// <summary>One input tensor of a request: KServe wire datatype ("FP32"), full shape (batch included) and its
/// row-major little-endian bytes. Built once before the run and shared read-only by every request.</summary>
public sealed record TensorData(string Name, string DataType, long[] Shape, byte[] Data);

/// <summary>The inputs of one request and the outputs it asks for. Immutable; shared across workers.</summary>
public sealed record RequestTemplate(IReadOnlyList<TensorData> Inputs, IReadOnlyList<string> Outputs);
