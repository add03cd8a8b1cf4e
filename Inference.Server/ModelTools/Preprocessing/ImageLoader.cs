namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>Decodes photographs into model-sized RGB pixels the way torchvision's ImageNet evaluation transform
/// does: resize (bilinear, antialiased) so the shorter side is <c>size * 256 / 224</c>, then center-crop
/// <c>size × size</c>. PNG only (see <see cref="PngDecoder"/>).</summary>
public static class ImageLoader
{
    /// <summary>The PNG files directly in <paramref name="folder"/>, sorted by name (ordinal).</summary>
    public static IReadOnlyList<string> ListImages(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new ModelToolException($"Image folder '{folder}' does not exist.");
        }
        return [.. Directory.EnumerateFiles(folder, "*.png").Order(StringComparer.Ordinal)];
    }

    /// <summary>Pixels [size, size, 3] (RGB, interleaved) of <paramref name="file"/>.</summary>
    public static byte[] LoadRgb(string file, int size)
    {
        var image = PngDecoder.Decode(file);
        var shorter = size * 256 / 224;
        var scale = (double)shorter / Math.Min(image.Width, image.Height);
        var width = Math.Max(size, (int)Math.Round(image.Width * scale));
        var height = Math.Max(size, (int)Math.Round(image.Height * scale));
        return ImageResizer.CenterCrop(ImageResizer.Resize(image, width, height), size).Pixels;
    }
}
