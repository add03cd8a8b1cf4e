using System.Buffers.Binary;
using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>Checks of raw tensor bytes that need no model: size against shape and datatype, BYTES framing.</summary>
public static class TensorWireChecks
{
    /// <summary>Element count of a wire shape; an error for negative dimensions or overflow.</summary>
    public static Result<long> ElementCount(string tensor, long[] shape)
    {
        foreach (var d in shape)
        {
            if (d < 0)
            {
                return ProtocolErrors.Invalid($"input '{tensor}' has a negative dimension in shape {ShapeMath.Format(shape)}");
            }
        }
        try
        {
            return ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            return ProtocolErrors.Invalid($"input '{tensor}' shape {ShapeMath.Format(shape)} is too large");
        }
    }

    /// <summary>Null when <paramref name="data"/> holds exactly <paramref name="elementCount"/> elements of
    /// <paramref name="type"/> (for BYTES: that many well-formed length-prefixed elements).</summary>
    public static InferenceError? CheckRawSize(string tensor, DataType type, long elementCount, ReadOnlySpan<byte> data)
    {
        if (type != DataType.Bytes)
        {
            var expected = elementCount * type.ElementSize();
            return expected == data.Length
                ? null
                : ProtocolErrors.Invalid(
                    $"input '{tensor}': {data.Length} bytes of data do not match {elementCount} elements of {type.ToWireName()} ({expected} bytes)");
        }
        var count = CountBytesElements(data);
        if (count < 0)
        {
            return ProtocolErrors.Invalid($"input '{tensor}': BYTES data is not a sequence of 4-byte-length-prefixed elements");
        }
        return count == elementCount
            ? null
            : ProtocolErrors.Invalid($"input '{tensor}': BYTES data holds {count} elements but the shape needs {elementCount}");
    }

    /// <summary>The number of length-prefixed elements in <paramref name="data"/>, or -1 when malformed.</summary>
    public static long CountBytesElements(ReadOnlySpan<byte> data)
    {
        long count = 0;
        var offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < 4)
            {
                return -1;
            }
            var len = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            offset += 4;
            if (len > (uint)(data.Length - offset))
            {
                return -1;
            }
            offset += (int)len;
            count++;
        }
        return count;
    }
}
