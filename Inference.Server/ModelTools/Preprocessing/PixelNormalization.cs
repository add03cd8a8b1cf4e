namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>How 8-bit RGB pixels become model input: <c>(pixel * Scale - Mean[c]) / Std[c]</c> per channel c
/// (R, G, B order).</summary>
public sealed record PixelNormalization(float Scale, float[] Mean, float[] Std)
{
    /// <summary>torchvision's ImageNet normalization: pixels scaled to [0, 1], mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225).</summary>
    public static PixelNormalization ImageNet { get; } = new(1f / 255f, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Pixels as they are, 0..255.</summary>
    public static PixelNormalization Raw { get; } = new(1f, [0f, 0f, 0f], [1f, 1f, 1f]);

    /// <summary>The per-channel multiplier of the folded form <c>pixel * Multiplier[c] + Offset[c]</c>.</summary>
    public float Multiplier(int channel) => Scale / Std[channel];

    /// <summary>The per-channel offset of the folded form.</summary>
    public float Offset(int channel) => -Mean[channel] / Std[channel];

    /// <summary>Converts interleaved pixels [H, W, 3] into planar normalized values [3, H, W].</summary>
    public void ToChw(ReadOnlySpan<byte> hwc, Span<float> chw)
    {
        var pixels = hwc.Length / 3;
        if (hwc.Length % 3 != 0 || chw.Length != hwc.Length)
        {
            throw new ArgumentException($"Expected {hwc.Length} planar values for {pixels} RGB pixels, got {chw.Length}.");
        }
        for (var c = 0; c < 3; c++)
        {
            var m = Multiplier(c);
            var o = Offset(c);
            var plane = chw.Slice(c * pixels, pixels);
            for (var p = 0; p < pixels; p++)
            {
                plane[p] = hwc[3 * p + c] * m + o;
            }
        }
    }
}
