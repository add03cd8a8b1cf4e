using System.Buffers.Binary;
using System.IO.Compression;

namespace Inference.Server.ModelTools.Preprocessing;

/// <summary>
/// Decodes non-interlaced PNG files (all colour types; bit depths 1-16) into 8-bit RGB pixels [H, W, 3]:
/// grey is replicated, palettes are looked up, alpha is dropped, 16-bit samples keep their high byte.
/// Written here because the only image library in the package registry copy (ImageSharp 4) refuses Release
/// builds without a commercial license key.
/// </summary>
public static class PngDecoder
{
    private static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    public static RgbImage Decode(string path)
    {
        var file = File.ReadAllBytes(path);
        try
        {
            return Decode(file);
        }
        catch (InvalidDataException e)
        {
            throw new ModelToolException($"{path}: {e.Message}");
        }
    }

    public static RgbImage Decode(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8 || !file[..8].SequenceEqual(Signature))
        {
            throw new InvalidDataException("not a PNG file (only PNG images are decoded).");
        }
        int width = 0, height = 0, bitDepth = 0, colorType = 0;
        byte[] palette = [];
        using var compressed = new MemoryStream();
        var offset = 8;
        while (offset + 12 <= file.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(file[offset..]);
            var type = System.Text.Encoding.ASCII.GetString(file.Slice(offset + 4, 4));
            var data = file.Slice(offset + 8, length);
            offset += 12 + length;
            switch (type)
            {
                case "IHDR":
                    width = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
                    height = (int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                    bitDepth = data[8];
                    colorType = data[9];
                    if (data[12] != 0)
                    {
                        throw new InvalidDataException("interlaced PNGs are not supported.");
                    }
                    break;
                case "PLTE":
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    compressed.Write(data);
                    break;
                case "IEND":
                    offset = file.Length;
                    break;
            }
        }
        if (width <= 0 || height <= 0)
        {
            throw new InvalidDataException("PNG has no IHDR chunk.");
        }
        var channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => throw new InvalidDataException($"PNG colour type {colorType} is invalid.") };
        var bitsPerPixel = channels * bitDepth;
        var stride = (width * bitsPerPixel + 7) / 8;
        var bytesPerPixel = Math.Max(1, bitsPerPixel / 8);
        var raw = new byte[(stride + 1) * height];
        compressed.Position = 0;
        using (var zlib = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            zlib.ReadExactly(raw);
        }

        var rgb = new byte[width * height * 3];
        var previous = new byte[stride];
        var current = new byte[stride];
        for (var y = 0; y < height; y++)
        {
            var row = raw.AsSpan(y * (stride + 1), stride + 1);
            Unfilter(row[0], row[1..], previous, current, bytesPerPixel);
            for (var x = 0; x < width; x++)
            {
                var pixel = rgb.AsSpan((y * width + x) * 3, 3);
                if (colorType == 3)
                {
                    var index = Sample(current, x, bitDepth);
                    pixel[0] = palette[3 * index];
                    pixel[1] = palette[3 * index + 1];
                    pixel[2] = palette[3 * index + 2];
                }
                else if (colorType is 0 or 4)
                {
                    pixel[0] = pixel[1] = pixel[2] = Scale(Sample(current, x * channels, bitDepth), bitDepth);
                }
                else
                {
                    for (var c = 0; c < 3; c++)
                    {
                        pixel[c] = Scale(Sample(current, x * channels + c, bitDepth), bitDepth);
                    }
                }
            }
            (previous, current) = (current, previous);
        }
        return new RgbImage(width, height, rgb);
    }

    private static void Unfilter(byte filter, ReadOnlySpan<byte> source, ReadOnlySpan<byte> previous, Span<byte> current, int bpp)
    {
        for (var i = 0; i < source.Length; i++)
        {
            int a = i >= bpp ? current[i - bpp] : 0, b = previous[i], c = i >= bpp ? previous[i - bpp] : 0;
            current[i] = (byte)(source[i] + filter switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => Paeth(a, b, c),
                _ => throw new InvalidDataException($"PNG filter type {filter} is invalid."),
            });
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Sample number <paramref name="index"/> of a row: packed for depths below 8, big-endian 16-bit
    /// (returned whole) for depth 16.</summary>
    private static int Sample(ReadOnlySpan<byte> row, int index, int bitDepth) => bitDepth switch
    {
        8 => row[index],
        16 => (row[2 * index] << 8) | row[2 * index + 1],
        _ => (row[index * bitDepth / 8] >> (8 - bitDepth - index * bitDepth % 8)) & ((1 << bitDepth) - 1),
    };

    private static byte Scale(int sample, int bitDepth) => bitDepth switch
    {
        8 => (byte)sample,
        16 => (byte)(sample >> 8),
        _ => (byte)(sample * 255 / ((1 << bitDepth) - 1)),
    };
}
