using System.Buffers.Binary;
using System.Globalization;
using Inference.Server.Core;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Triton's classification extension: turns an output into the top-N classes of each batch row as BYTES
/// elements "score:index" or "score:index:label". Scores print as Triton prints them (C++ std::to_string):
/// floating types with six decimals ("12.345678"), integer types as integers. Order is by score descending,
/// ties by lower index first; NaN ranks last. One writer per instance: it reuses scratch buffers and is not
/// thread-safe.
/// </summary>
internal sealed class ClassificationWriter
{
    private const int MaxScoreBytes = 400;

    private int[] _topIndex = new int[16];
    private double[] _topScore = new double[16];
    private byte[] _scratch = new byte[4096];

    /// <summary>
    /// Classifies <paramref name="rows"/> rows of <paramref name="rowElements"/> values of <paramref name="type"/>
    /// in <paramref name="data"/>. The tensor has shape [rows, N] (or [N] when <paramref name="batched"/> is false),
    /// N = min(<paramref name="requested"/>, rowElements); it owns a <see cref="PooledBuffer"/>.
    /// </summary>
    public InferTensor Write(
        string name, DataType type, ReadOnlySpan<byte> data, int rows, int rowElements, int requested,
        byte[][]? labelSuffixes, bool batched)
    {
        var count = Math.Min(requested, rowElements);
        EnsureTopCapacity(count);
        var elementSize = type.ElementSize();
        var written = 0;
        for (var r = 0; r < rows; r++)
        {
            var row = data.Slice(r * rowElements * elementSize, rowElements * elementSize);
            SelectTop(type, row, rowElements, count);
            for (var k = 0; k < count; k++)
            {
                var index = _topIndex[k];
                var suffix = labelSuffixes is not null && index < labelSuffixes.Length ? labelSuffixes[index] : [];
                EnsureScratch(written + 4 + MaxScoreBytes + 12 + suffix.Length);
                var start = written;
                written += 4;
                written += FormatScore(type, row, index, _scratch.AsSpan(written));
                _scratch[written++] = (byte)':';
                index.TryFormat(_scratch.AsSpan(written), out var n, default, CultureInfo.InvariantCulture);
                written += n;
                suffix.CopyTo(_scratch.AsSpan(written));
                written += suffix.Length;
                BinaryPrimitives.WriteInt32LittleEndian(_scratch.AsSpan(start), written - start - 4);
            }
        }

        var buffer = PooledBuffer.Rent(written);
        _scratch.AsSpan(0, written).CopyTo(buffer.Span);
        long[] shape = batched ? [rows, count] : [count];
        return new InferTensor(name, DataType.Bytes, shape, buffer.Memory, buffer);
    }

    /// <summary>UTF-8 of ":label" for each label, computed once per model.</summary>
    public static byte[][] EncodeLabels(IReadOnlyList<string> labels) =>
        labels.Select(l => System.Text.Encoding.UTF8.GetBytes(":" + l)).ToArray();

    private void SelectTop(DataType type, ReadOnlySpan<byte> row, int elements, int count)
    {
        var filled = 0;
        for (var i = 0; i < elements; i++)
        {
            var score = ReadAsDouble(type, row, i);
            if (double.IsNaN(score))
            {
                score = double.NegativeInfinity;
            }
            if (filled == count && !(score > _topScore[count - 1]))
            {
                continue;
            }
            var p = filled == count ? count - 1 : filled;
            while (p > 0 && _topScore[p - 1] < score)
            {
                _topScore[p] = _topScore[p - 1];
                _topIndex[p] = _topIndex[p - 1];
                p--;
            }
            _topScore[p] = score;
            _topIndex[p] = i;
            if (filled < count)
            {
                filled++;
            }
        }
    }

    private static double ReadAsDouble(DataType type, ReadOnlySpan<byte> row, int i) => type switch
    {
        DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(row[(i * 4)..]),
        DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(row[(i * 8)..]),
        DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(row[(i * 2)..]),
        DataType.Bf16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(row[(i * 2)..]) << 16),
        DataType.Bool or DataType.UInt8 => row[i],
        DataType.Int8 => (sbyte)row[i],
        DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(row[(i * 2)..]),
        DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(row[(i * 2)..]),
        DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(row[(i * 4)..]),
        DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(row[(i * 4)..]),
        DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(row[(i * 8)..]),
        DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(row[(i * 8)..]),
        _ => throw new NotSupportedException($"classification of {type} outputs is not supported"),
    };

    private static int FormatScore(DataType type, ReadOnlySpan<byte> row, int i, Span<byte> destination)
    {
        int n;
        var ok = type switch
        {
            DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(row[(i * 8)..]).TryFormat(destination, out n, default, CultureInfo.InvariantCulture),
            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(row[(i * 8)..]).TryFormat(destination, out n, default, CultureInfo.InvariantCulture),
            DataType.Fp32 or DataType.Fp64 or DataType.Fp16 or DataType.Bf16 => FormatFloating(ReadAsDouble(type, row, i), destination, out n),
            _ => ((long)ReadAsDouble(type, row, i)).TryFormat(destination, out n, default, CultureInfo.InvariantCulture),
        };
        return ok ? n : throw new InvalidOperationException("classification score did not fit its buffer");
    }

    /// <summary>printf("%f") spelling: six decimals, "nan", "inf", "-inf".</summary>
    private static bool FormatFloating(double value, Span<byte> destination, out int written)
    {
        ReadOnlySpan<byte> special = double.IsNaN(value) ? "nan"u8
            : double.IsPositiveInfinity(value) ? "inf"u8
            : double.IsNegativeInfinity(value) ? "-inf"u8
            : default;
        if (!special.IsEmpty)
        {
            written = special.Length;
            return special.TryCopyTo(destination);
        }
        return value.TryFormat(destination, out written, "F6", CultureInfo.InvariantCulture);
    }

    private void EnsureTopCapacity(int count)
    {
        if (_topIndex.Length < count)
        {
            _topIndex = new int[count];
            _topScore = new double[count];
        }
    }

    private void EnsureScratch(int length)
    {
        if (_scratch.Length < length)
        {
            Array.Resize(ref _scratch, Math.Max(length, _scratch.Length * 2));
        }
    }
}
