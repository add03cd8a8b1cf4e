namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>8-bit RGB pixels, row-major and interleaved: <c>Pixels[(y * Width + x) * 3 + channel]</c>.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);
