using System.Buffers.Binary;
using Inference.Server.Core;

namespace LoadTest.Clients;

/// <summary>
/// Decides whether an inference response is valid: every requested output present once with the expected datatype,
/// shape and byte size, and, with <c>expectTop1</c>, the arg-max of the first row of the first output equal to it.
/// Errors are short labels (<c>invalid-response:shape</c>, ...) so they group in the errors-by-status table.
/// Immutable and thread-safe; allocation-free per response. At most 64 outputs.
/// </summary>
public sealed class ResponseValidator
{
    public const string Malformed = "invalid-response:malformed";
    private readonly OutputExpectation[] _outputs;
    private readonly int? _expectTop1;

    public ResponseValidator(IReadOnlyList<OutputExpectation> outputs, int? expectTop1)
    {
        if (outputs.Count is 0 or > 64)
        {
            throw new ArgumentException("between 1 and 64 outputs can be validated", nameof(outputs));
        }
        _outputs = [.. outputs];
        _expectTop1 = expectTop1;
    }

    public IReadOnlyList<OutputExpectation> Outputs => _outputs;

    /// <summary>Checks one output whose data is raw bytes (gRPC raw_output_contents, HTTP binary extension) and marks
    /// it in <paramref name="seen"/>. Returns null when valid, else an error label.</summary>
    public string? CheckBinary(string name, string datatype, ReadOnlySpan<long> shape, ReadOnlySpan<byte> data, ref ulong seen)
    {
        var index = Find(name, datatype, shape, ref seen, out var error, out var elements);
        if (error is not null)
        {
            return error;
        }
        if (DataTypes.TryParseWireName(datatype, out var type) && type.ElementSize() > 0 && data.Length != elements * type.ElementSize())
        {
            return "invalid-response:size";
        }
        return index == 0 && _expectTop1 is { } want && ArgmaxFirstRow(type, data, shape) != want ? "invalid-response:top1" : null;
    }

    /// <summary>Checks one output read as JSON numbers (<paramref name="values"/>, as doubles).</summary>
    public string? CheckValues(string name, string datatype, ReadOnlySpan<long> shape, ReadOnlySpan<double> values, ref ulong seen)
    {
        var index = Find(name, datatype, shape, ref seen, out var error, out var elements);
        if (error is not null)
        {
            return error;
        }
        if (values.Length != elements)
        {
            return "invalid-response:size";
        }
        if (index == 0 && _expectTop1 is { } want)
        {
            var row = values[..(int)RowLength(shape, elements)];
            return row.Length > 0 && row.IndexOf(MaxOf(row)) == want ? null : "invalid-response:top1";
        }
        return null;
    }

    /// <summary>After all outputs were checked: an error when one was missing.</summary>
    public string? Complete(ulong seen) => seen == (_outputs.Length == 64 ? ulong.MaxValue : (1UL << _outputs.Length) - 1)
        ? null : "invalid-response:missing-output";

    private int Find(string name, string datatype, ReadOnlySpan<long> shape, ref ulong seen, out string? error, out long elements)
    {
        elements = 0;
        var index = Array.FindIndex(_outputs, o => o.Name == name);
        if (index < 0 || (seen & (1UL << index)) != 0)
        {
            error = "invalid-response:unexpected-output";
            return index;
        }
        seen |= 1UL << index;
        var expected = _outputs[index];
        if (expected.DataType is not null && datatype != expected.DataType)
        {
            error = "invalid-response:datatype";
            return index;
        }
        if (expected.Shape is null)
        {
            elements = 1;
            foreach (var d in shape)
            {
                elements *= Math.Max(d, 0);
            }
            error = null;
            return index;
        }
        if (shape.Length != expected.Shape.Length)
        {
            error = "invalid-response:shape";
            return index;
        }
        elements = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0 || (expected.Shape[i] >= 0 && shape[i] != expected.Shape[i]))
            {
                error = "invalid-response:shape";
                return index;
            }
            elements *= shape[i];
        }
        error = null;
        return index;
    }

    private static long RowLength(ReadOnlySpan<long> shape, long elements) => shape.Length > 1 && shape[0] > 0 ? elements / shape[0] : elements;

    private static double MaxOf(ReadOnlySpan<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var v in values)
        {
            max = Math.Max(max, v);
        }
        return max;
    }

    /// <summary>Index of the largest element of the first row (first index on ties), or -1 for a type without order.</summary>
    public static int ArgmaxFirstRow(DataType type, ReadOnlySpan<byte> data, ReadOnlySpan<long> shape)
    {
        var size = type.ElementSize();
        if (size == 0 || data.Length < size)
        {
            return -1;
        }
        var elements = data.Length / size;
        var row = (int)RowLength(shape, elements);
        var best = -1;
        var bestValue = double.NegativeInfinity;
        for (var i = 0; i < row; i++)
        {
            var e = data.Slice(i * size, size);
            double v = type switch
            {
                DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(e),
                DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(e),
                DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(e),
                DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                DataType.UInt8 or DataType.Bool => e[0],
                DataType.Int8 => (sbyte)e[0],
                _ => double.NaN,
            };
            if (v > bestValue)
            {
                bestValue = v;
                best = i;
            }
        }
        return best;
    }
}
