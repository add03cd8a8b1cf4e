using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Converts a tensor's JSON <c>data</c> (flat or nested arrays, row-major; numbers, booleans for BOOL, strings for
/// BYTES) to and from the raw tensor layout of <see cref="InferTensor"/>. Decoding writes each element straight
/// into a <see cref="PooledBuffer"/>; FP16 and BF16 are binary-only, as in Triton. Stateless; thread-safe.
/// </summary>
public static class JsonTensorCodec
{
    /// <summary>Decodes the JSON value <paramref name="json"/> into a pooled buffer the caller owns.</summary>
    public static Result<PooledBuffer> Decode(ReadOnlySpan<byte> json, string tensor, DataType type, long elementCount)
    {
        switch (type)
        {
            case DataType.Fp16 or DataType.Bf16:
                return ProtocolErrors.Invalid(
                    $"receiving {type.ToWireName()} data via JSON is not supported. Please use the binary data format for input '{tensor}'");
            case DataType.Bytes:
                return DecodeBytes(json, tensor, elementCount);
            case DataType.Invalid:
                return ProtocolErrors.Invalid($"invalid datatype for input '{tensor}'");
        }
        // Every JSON element takes at least one byte, so a larger count cannot match (and must not be allocated).
        if (elementCount > json.Length)
        {
            return CountMismatch(tensor, CountElements(json), elementCount);
        }
        var size = type.ElementSize();
        var buffer = PooledBuffer.Rent(checked((int)(elementCount * size)));
        var span = buffer.Span;
        var reader = new Utf8JsonReader(json);
        long n = 0;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.EndArray)
            {
                continue;
            }
            if (n >= elementCount)
            {
                buffer.Dispose();
                return CountMismatch(tensor, CountElements(json), elementCount);
            }
            if (!TryWriteElement(ref reader, type, span.Slice((int)(n * size), size)))
            {
                buffer.Dispose();
                return ProtocolErrors.Invalid(
                    $"input '{tensor}': data element {n} ({Describe(ref reader)}) is not a valid {type.ToWireName()} value");
            }
            n++;
        }
        if (n != elementCount)
        {
            buffer.Dispose();
            return CountMismatch(tensor, n, elementCount);
        }
        return buffer;
    }

    /// <summary>Null when <paramref name="tensor"/> can be written as JSON; otherwise why not (Triton's rules:
    /// FP16/BF16 are binary-only; JSON has no NaN or infinity).</summary>
    public static InferenceError? CheckEncodable(InferTensor tensor)
    {
        var type = tensor.DataType;
        var data = tensor.Data.Span;
        switch (type)
        {
            case DataType.Fp16 or DataType.Bf16:
                return ProtocolErrors.Invalid(
                    $"sending {type.ToWireName()} data via JSON is not supported. Please use the binary data format for output '{tensor.Name}'");
            case DataType.Bytes:
                return TensorWireChecks.CountBytesElements(data) == tensor.ElementCount
                    ? null
                    : new InferenceError(ErrorCode.Internal, $"output tensor shape does not match size of output for '{tensor.Name}'");
            case DataType.Invalid:
                return new InferenceError(ErrorCode.Internal, $"invalid data type for output '{tensor.Name}'");
        }
        if (tensor.ElementCount * type.ElementSize() != data.Length)
        {
            return new InferenceError(ErrorCode.Internal, $"output tensor shape does not match size of output for '{tensor.Name}'");
        }
        if (type == DataType.Fp32)
        {
            for (var i = 0; i < data.Length; i += 4)
            {
                if (!float.IsFinite(BinaryPrimitives.ReadSingleLittleEndian(data[i..])))
                {
                    return NonFinite(tensor.Name);
                }
            }
        }
        else if (type == DataType.Fp64)
        {
            for (var i = 0; i < data.Length; i += 8)
            {
                if (!double.IsFinite(BinaryPrimitives.ReadDoubleLittleEndian(data[i..])))
                {
                    return NonFinite(tensor.Name);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Writes elements of a tensor that passed <see cref="CheckEncodable"/>, starting at byte
    /// <paramref name="offset"/>, until the data ends or the writer holds <paramref name="pendingLimit"/> unflushed
    /// bytes. Returns the byte offset to continue from (the data length when done). The caller writes the array
    /// brackets and flushes between calls.
    /// </summary>
    public static int WriteElements(Utf8JsonWriter writer, DataType type, ReadOnlySpan<byte> data, int offset, int pendingLimit)
    {
        var size = type.ElementSize();
        while (offset < data.Length && writer.BytesPending < pendingLimit)
        {
            var e = data[offset..];
            switch (type)
            {
                case DataType.Bool: writer.WriteBooleanValue(e[0] != 0); break;
                case DataType.UInt8: writer.WriteNumberValue(e[0]); break;
                case DataType.Int8: writer.WriteNumberValue((sbyte)e[0]); break;
                case DataType.UInt16: writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(e)); break;
                case DataType.Int16: writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(e)); break;
                case DataType.UInt32: writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(e)); break;
                case DataType.Int32: writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(e)); break;
                case DataType.UInt64: writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(e)); break;
                case DataType.Int64: writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(e)); break;
                case DataType.Fp32: writer.WriteNumberValue(BinaryPrimitives.ReadSingleLittleEndian(e)); break;
                case DataType.Fp64: writer.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(e)); break;
                case DataType.Bytes:
                    var len = (int)BinaryPrimitives.ReadUInt32LittleEndian(e);
                    WriteUtf8String(writer, e.Slice(4, len));
                    size = 4 + len;
                    break;
                default:
                    throw new InvalidOperationException($"{type} cannot be written as JSON; call CheckEncodable first");
            }
            offset += size;
        }
        return offset;
    }

    private static void WriteUtf8String(Utf8JsonWriter writer, ReadOnlySpan<byte> value)
    {
        if (Utf8.IsValid(value))
        {
            writer.WriteStringValue(value);
        }
        else
        {
            // JSON strings are text: bytes that are not UTF-8 go out with replacement characters.
            writer.WriteStringValue(Encoding.UTF8.GetString(value));
        }
    }

    private static bool TryWriteElement(ref Utf8JsonReader reader, DataType type, Span<byte> dest)
    {
        if (type == DataType.Bool)
        {
            if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            {
                return false;
            }
            dest[0] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
            return true;
        }
        if (reader.TokenType != JsonTokenType.Number)
        {
            return false;
        }
        switch (type)
        {
            case DataType.UInt8 when reader.TryGetByte(out var v): dest[0] = v; return true;
            case DataType.Int8 when reader.TryGetSByte(out var v): dest[0] = (byte)v; return true;
            case DataType.UInt16 when reader.TryGetUInt16(out var v): BinaryPrimitives.WriteUInt16LittleEndian(dest, v); return true;
            case DataType.Int16 when reader.TryGetInt16(out var v): BinaryPrimitives.WriteInt16LittleEndian(dest, v); return true;
            case DataType.UInt32 when reader.TryGetUInt32(out var v): BinaryPrimitives.WriteUInt32LittleEndian(dest, v); return true;
            case DataType.Int32 when reader.TryGetInt32(out var v): BinaryPrimitives.WriteInt32LittleEndian(dest, v); return true;
            case DataType.UInt64 when reader.TryGetUInt64(out var v): BinaryPrimitives.WriteUInt64LittleEndian(dest, v); return true;
            case DataType.Int64 when reader.TryGetInt64(out var v): BinaryPrimitives.WriteInt64LittleEndian(dest, v); return true;
            case DataType.Fp32 when reader.TryGetDouble(out var v) && float.IsFinite((float)v):
                BinaryPrimitives.WriteSingleLittleEndian(dest, (float)v);
                return true;
            // The reader reads a number beyond a double's range as infinity, which no JSON number stands for.
            case DataType.Fp64 when reader.TryGetDouble(out var v) && double.IsFinite(v): BinaryPrimitives.WriteDoubleLittleEndian(dest, v); return true;
            default: return false;
        }
    }

    private static Result<PooledBuffer> DecodeBytes(ReadOnlySpan<byte> json, string tensor, long elementCount)
    {
        // Pass 1: count the strings and their unescaped lengths, so the buffer is rented once at its exact size.
        var reader = new Utf8JsonReader(json);
        long n = 0;
        long total = 0;
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.EndArray)
            {
                continue;
            }
            if (reader.TokenType != JsonTokenType.String)
            {
                return ProtocolErrors.Invalid(
                    $"input '{tensor}': data element {n} ({Describe(ref reader)}) is not a valid BYTES value (a JSON string)");
            }
            var length = UnescapedLength(ref reader);
            if (length < 0)
            {
                return ProtocolErrors.Invalid($@"input '{tensor}': data element {n} is not text (a \u escape of an unpaired surrogate)");
            }
            total += 4 + length;
            n++;
        }
        if (n != elementCount)
        {
            return CountMismatch(tensor, n, elementCount);
        }
        var buffer = PooledBuffer.Rent(checked((int)total));
        var dest = buffer.Span;
        reader = new Utf8JsonReader(json);
        var offset = 0;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                continue;
            }
            var written = reader.ValueIsEscaped ? reader.CopyString(dest[(offset + 4)..]) : CopyRaw(reader.ValueSpan, dest[(offset + 4)..]);
            BinaryPrimitives.WriteUInt32LittleEndian(dest[offset..], (uint)written);
            offset += 4 + written;
        }
        return buffer;
    }

    private static int CopyRaw(ReadOnlySpan<byte> source, Span<byte> dest)
    {
        source.CopyTo(dest);
        return source.Length;
    }

    /// <summary>The string's length once unescaped; -1 when an escape does not decode (an unpaired surrogate).</summary>
    private static int UnescapedLength(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.Length;
        }
        var scratch = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        try
        {
            return reader.CopyString(scratch);
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static long CountElements(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        long n = 0;
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.EndArray))
            {
                n++;
            }
        }
        return n;
    }

    private static string Describe(ref Utf8JsonReader reader)
    {
        var raw = reader.HasValueSequence ? "" : Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)]);
        return reader.TokenType switch
        {
            JsonTokenType.String => $"string \"{raw}\"",
            JsonTokenType.Number => $"number {raw}",
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.Null => "null",
            JsonTokenType.StartObject => "an object",
            _ => reader.TokenType.ToString(),
        };
    }

    private static InferenceError CountMismatch(string tensor, long actual, long expected) =>
        ProtocolErrors.Invalid($"input '{tensor}': data has {actual} elements but its shape needs {expected}");

    private static InferenceError NonFinite(string name) =>
        ProtocolErrors.Invalid($"output '{name}' holds NaN or infinity, which JSON cannot carry; request it with binary_data");
}
