using System.Buffers.Binary;
using Google.Protobuf.Collections;
using Inference.Server.Core;
using InferTensorContents = Inference.Server.Protos.InferTensorContents;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Copies gRPC typed <c>contents</c> (the field matching the datatype, as Triton reads them: int_contents for
/// INT8/16/32, uint_contents for UINT8/16/32, ...) into a pooled buffer in the raw tensor layout, checking the
/// element count and that each value fits the datatype. FP16/BF16 have no typed field. Stateless; thread-safe.
/// </summary>
public static class TypedContentsDecoder
{
    public static Result<PooledBuffer> Decode(string tensor, DataType type, long elementCount, InferTensorContents contents)
    {
        switch (type)
        {
            case DataType.Bool: return Fixed(tensor, type, elementCount, contents.BoolContents, static (d, v) => { d[0] = v ? (byte)1 : (byte)0; return true; });
            case DataType.Int8: return Fixed(tensor, type, elementCount, contents.IntContents, static (d, v) => { if (v is < sbyte.MinValue or > sbyte.MaxValue) { return false; } d[0] = (byte)(sbyte)v; return true; });
            case DataType.Int16: return Fixed(tensor, type, elementCount, contents.IntContents, static (d, v) => { if (v is < short.MinValue or > short.MaxValue) { return false; } BinaryPrimitives.WriteInt16LittleEndian(d, (short)v); return true; });
            case DataType.Int32: return Fixed(tensor, type, elementCount, contents.IntContents, static (d, v) => { BinaryPrimitives.WriteInt32LittleEndian(d, v); return true; });
            case DataType.Int64: return Fixed(tensor, type, elementCount, contents.Int64Contents, static (d, v) => { BinaryPrimitives.WriteInt64LittleEndian(d, v); return true; });
            case DataType.UInt8: return Fixed(tensor, type, elementCount, contents.UintContents, static (d, v) => { if (v > byte.MaxValue) { return false; } d[0] = (byte)v; return true; });
            case DataType.UInt16: return Fixed(tensor, type, elementCount, contents.UintContents, static (d, v) => { if (v > ushort.MaxValue) { return false; } BinaryPrimitives.WriteUInt16LittleEndian(d, (ushort)v); return true; });
            case DataType.UInt32: return Fixed(tensor, type, elementCount, contents.UintContents, static (d, v) => { BinaryPrimitives.WriteUInt32LittleEndian(d, v); return true; });
            case DataType.UInt64: return Fixed(tensor, type, elementCount, contents.Uint64Contents, static (d, v) => { BinaryPrimitives.WriteUInt64LittleEndian(d, v); return true; });
            case DataType.Fp32: return Fixed(tensor, type, elementCount, contents.Fp32Contents, static (d, v) => { BinaryPrimitives.WriteSingleLittleEndian(d, v); return true; });
            case DataType.Fp64: return Fixed(tensor, type, elementCount, contents.Fp64Contents, static (d, v) => { BinaryPrimitives.WriteDoubleLittleEndian(d, v); return true; });
            case DataType.Bytes: return Bytes(tensor, elementCount, contents);
            default:
                return ProtocolErrors.Invalid($"input '{tensor}': {type.ToWireName()} has no typed contents field; use raw_input_contents");
        }
    }

    private delegate bool Writer<T>(Span<byte> destination, T value);

    private static Result<PooledBuffer> Fixed<T>(string tensor, DataType type, long elementCount, RepeatedField<T> values, Writer<T> write)
    {
        if (values.Count != elementCount)
        {
            return Mismatch(tensor, values.Count, elementCount);
        }
        var size = type.ElementSize();
        var buffer = PooledBuffer.Rent(checked(values.Count * size));
        var span = buffer.Span;
        for (var i = 0; i < values.Count; i++)
        {
            if (!write(span.Slice(i * size, size), values[i]))
            {
                buffer.Dispose();
                return ProtocolErrors.Invalid($"input '{tensor}': element {i} ({values[i]}) does not fit {type.ToWireName()}");
            }
        }
        return buffer;
    }

    private static Result<PooledBuffer> Bytes(string tensor, long elementCount, InferTensorContents contents)
    {
        var values = contents.BytesContents;
        if (values.Count != elementCount)
        {
            return Mismatch(tensor, values.Count, elementCount);
        }
        long total = 0;
        foreach (var v in values)
        {
            total += 4 + v.Length;
        }
        var buffer = PooledBuffer.Rent(checked((int)total));
        var span = buffer.Span;
        var offset = 0;
        foreach (var v in values)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[offset..], (uint)v.Length);
            v.Span.CopyTo(span[(offset + 4)..]);
            offset += 4 + v.Length;
        }
        return buffer;
    }

    private static InferenceError Mismatch(string tensor, long actual, long expected) =>
        ProtocolErrors.Invalid($"input '{tensor}': contents hold {actual} elements but its shape needs {expected}");
}
