namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>Bilinear resampling with antialiasing (the triangle filter widened by the scale factor when shrinking,
/// as PIL and torchvision's antialiased Resize do), separable: rows first, then columns.</summary>
public static class ImageResizer
{
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        var horizontal = new float[image.Height * width * 3];
        Resample(image.Pixels, image.Width, image.Height, width, horizontal, horizontalPass: true);
        var vertical = new float[height * width * 3];
        Resample(horizontal, width, image.Height, height, vertical, horizontalPass: false);
        var pixels = new byte[vertical.Length];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)Math.Clamp(MathF.Round(vertical[i]), 0, 255);
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The <paramref name="size"/> × <paramref name="size"/> center of <paramref name="image"/>.</summary>
    public static RgbImage CenterCrop(RgbImage image, int size)
    {
        if (image.Width < size || image.Height < size)
        {
            throw new ArgumentException($"Cannot crop {size}x{size} from {image.Width}x{image.Height}.");
        }
        var left = (image.Width - size) / 2;
        var top = (image.Height - size) / 2;
        var pixels = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
        {
            image.Pixels.AsSpan(((top + y) * image.Width + left) * 3, size * 3).CopyTo(pixels.AsSpan(y * size * 3));
        }
        return new RgbImage(size, size, pixels);
    }

    private static void Resample<T>(T[] source, int sourceWidth, int sourceHeight, int target, float[] destination, bool horizontalPass)
        where T : struct
    {
        var sourceLength = horizontalPass ? sourceWidth : sourceHeight;
        var scale = (double)sourceLength / target;
        var support = Math.Max(scale, 1.0);
        var lines = horizontalPass ? sourceHeight : sourceWidth;
        var outWidth = horizontalPass ? target : sourceWidth;
        for (var o = 0; o < target; o++)
        {
            var center = (o + 0.5) * scale;
            var first = Math.Max(0, (int)Math.Floor(center - support));
            var last = Math.Min(sourceLength - 1, (int)Math.Ceiling(center + support));
            var weights = new double[last - first + 1];
            double total = 0;
            for (var i = first; i <= last; i++)
            {
                var w = Math.Max(0, 1 - Math.Abs((i + 0.5 - center) / support));
                weights[i - first] = w;
                total += w;
            }
            for (var line = 0; line < lines; line++)
            {
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var i = first; i <= last; i++)
                    {
                        var index = horizontalPass ? (line * sourceWidth + i) * 3 + c : (i * sourceWidth + line) * 3 + c;
                        sum += weights[i - first] * Value(source[index]);
                    }
                    var outIndex = horizontalPass ? (line * outWidth + o) * 3 + c : (o * outWidth + line) * 3 + c;
                    destination[outIndex] = (float)(sum / total);
                }
            }
        }
    }

    private static double Value<T>(T value) => value switch
    {
        byte b => b,
        float f => f,
        _ => throw new NotSupportedException(),
    };
}
