using Inference.Server.Core;
using Inference.Server.ModelTools.Preprocessing;
using SkiaSharp;

namespace LoadTest.Inputs;

/// <summary>
/// Image inputs like the seed's client: decode, convert to RGB, resize to the model's height and width (224x224 for
/// ResNet-50) with bicubic (Catmull-Rom, PIL's) resampling, then lay out as CHW or HWC (from the input's dims) in the input's datatype
/// (FP32, FP16 or UINT8) with <see cref="ImageScaling"/>. Done once before the run.
/// </summary>
public static class ImageTensors
{
    /// <summary>The same normalization the server's <c>preprocess</c> tool puts into the graph.</summary>
    private static readonly PixelNormalization ImageNet = PixelNormalization.ImageNet;

    /// <summary>Image files (jpg, jpeg, png, bmp, gif, webp) in <paramref name="directory"/>, sorted by name.</summary>
    public static IReadOnlyList<string> FindImages(string directory)
    {
        string[] extensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];
        var files = Directory.EnumerateFiles(directory)
            .Where(f => extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new ArgumentException($"no images (jpg, png, bmp, gif, webp) in {directory}");
    }

    /// <summary>Whether the dims (without batch) are CHW with 3 channels (else HWC with 3 channels).</summary>
    public static bool IsChw(long[] dims) => dims.Length == 3 && dims[0] == 3;

    /// <summary>One request's input: <paramref name="images"/> (batch of them, or one when the model does not batch)
    /// stacked along the batch dimension.</summary>
    public static TensorData Create(InputSpec spec, int batch, IReadOnlyList<SKBitmap> images, ImageScaling scaling)
    {
        var dims = spec.Dims;
        if (dims.Length != 3 || (dims[0] != 3 && dims[2] != 3))
        {
            throw new ArgumentException($"input '{spec.Name}' dims [{string.Join(",", dims)}] are not an image (3xHxW or HxWx3)");
        }
        if (!DataTypes.TryParseWireName(spec.DataType, out var type) || type is not (DataType.Fp32 or DataType.Fp16 or DataType.UInt8))
        {
            throw new ArgumentException($"input '{spec.Name}': images need FP32, FP16 or UINT8, not {spec.DataType}");
        }
        var chw = IsChw(dims);
        var (h, w) = chw ? ((int)dims[1], (int)dims[2]) : ((int)dims[0], (int)dims[1]);
        var perImage = 3 * h * w;
        var data = new byte[perImage * images.Count * type.ElementSize()];
        var target = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (var n = 0; n < images.Count; n++)
        {
            using var resized = images[n].Resize(target, new SKSamplingOptions(SKCubicResampler.CatmullRom))
                ?? throw new ArgumentException("an image could not be resized");
            var pixels = resized.GetPixelSpan();
            var offset = n * perImage;
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    for (var c = 0; c < 3; c++)
                    {
                        var raw = pixels[(((y * w) + x) * 4) + c];
                        var index = offset + (chw ? (c * h * w) + (y * w) + x : (((y * w) + x) * 3) + c);
                        Write(data, index, type, raw, Scale(raw, c, scaling));
                    }
                }
            }
        }
        return new TensorData(spec.Name, spec.DataType, spec.RequestShape(batch), data);
    }

    /// <summary>Decodes an image file to RGBA (alpha ignored later). The caller owns the bitmap.</summary>
    public static SKBitmap Load(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new ArgumentException($"{path}: not an image Skia can decode");
        return SKBitmap.Decode(codec, new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul))
            ?? throw new ArgumentException($"{path}: the image could not be decoded");
    }

    /// <summary>A synthetic 224x224 test picture (colour gradients), for scenario runs without an image folder.
    /// The caller owns the bitmap.</summary>
    public static SKBitmap Synthetic(int seed)
    {
        var image = new SKBitmap(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = image.GetPixelSpan();
        for (var y = 0; y < 224; y++)
        {
            for (var x = 0; x < 224; x++)
            {
                var i = ((y * 224) + x) * 4;
                pixels[i] = (byte)(x + (seed * 37));
                pixels[i + 1] = (byte)(y + (seed * 11));
                pixels[i + 2] = (byte)((x ^ y) + seed);
                pixels[i + 3] = 255;
            }
        }
        return image;
    }

    private static float Scale(byte raw, int channel, ImageScaling scaling) => scaling switch
    {
        ImageScaling.Inception => (raw / 127.5f) - 1f,
        ImageScaling.ImageNet => (raw * ImageNet.Multiplier(channel)) + ImageNet.Offset(channel),
        _ => raw,
    };

    private static void Write(byte[] data, int index, DataType type, byte raw, float value)
    {
        switch (type)
        {
            case DataType.UInt8:
                data[index] = raw;
                break;
            case DataType.Fp16:
                BitConverter.TryWriteBytes(data.AsSpan(index * 2), (Half)value);
                break;
            default:
                BitConverter.TryWriteBytes(data.AsSpan(index * 4), value);
                break;
        }
    }
}
