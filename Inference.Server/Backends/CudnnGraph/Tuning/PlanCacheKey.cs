namespace Inference.Server.Backends.CudnnGraph.Tuning;

/// <summary>
/// What a tuned plan is valid for: one fused layer on one kind of GPU under one driver and cuDNN. A plan timed
/// on another GPU, driver or cuDNN version may be slower or unsupported there, so a lookup needs every field equal
/// (ordinal comparison).
/// </summary>
/// <param name="Gpu">The GPU's name (e.g. "NVIDIA H200").</param>
/// <param name="ComputeCapability">Its compute capability (e.g. "9.0").</param>
/// <param name="Driver">The CUDA driver version.</param>
/// <param name="Cudnn">The cuDNN version.</param>
/// <param name="Operation">The caller's canonical text of the fused layer (shapes, data types, layout,
/// pattern); opaque to the cache.</param>
public sealed record PlanCacheKey(string Gpu, string ComputeCapability, string Driver, string Cudnn, string Operation);
