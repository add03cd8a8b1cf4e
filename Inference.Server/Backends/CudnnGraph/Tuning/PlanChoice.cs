namespace Inference.Server.Backends.CudnnGraph.Tuning;

/// <summary>The plan that timing chose for one <see cref="PlanCacheKey"/>.</summary>
/// <param name="Engine">The caller's text naming the cuDNN engine config; opaque to the cache.</param>
/// <param name="Microseconds">The measured time of one run of the layer with that engine.</param>
/// <param name="Fused">False when the layer runs unfused because that measured faster than every fused plan.</param>
/// <param name="MeasuredAt">When it was measured.</param>
public sealed record PlanChoice(string Engine, double Microseconds, bool Fused, DateTimeOffset MeasuredAt);
