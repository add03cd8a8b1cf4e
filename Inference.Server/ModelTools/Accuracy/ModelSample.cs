namespace Inference.Server.ModelTools.Accuracy;

/// <summary>One input sample: the FP32 tensor (without batch dimension) the FP32 model reads and, for image
/// inputs, the 8-bit RGB pixels [H, W, 3] it was normalized from (what a preprocessing variant reads).</summary>
public sealed record ModelSample(string Label, float[] Tensor, byte[]? Pixels);
