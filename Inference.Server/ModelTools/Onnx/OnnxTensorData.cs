using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>Reads initializer values (raw_data or the typed repeated fields) and builds initializers from arrays.
/// raw_data is little-endian, as ONNX specifies; the builders always write raw_data.</summary>
public static class OnnxTensorData
{
    public static long ElementCount(TensorProto tensor) => tensor.Dims.Aggregate(1L, (p, d) => checked(p * d));

    public static long ElementCount(IEnumerable<long> dims) => dims.Aggregate(1L, (p, d) => checked(p * d));

    /// <summary>The values of an FP32, FP16 or FP64 tensor as FP32.</summary>
    public static float[] ReadFloats(TensorProto tensor)
    {
        var count = checked((int)ElementCount(tensor));
        var raw = tensor.RawData.Span;
        switch ((ElementType)tensor.DataType)
        {
            case ElementType.Float:
                if (!raw.IsEmpty)
                {
                    RequireLength(tensor, raw.Length, count * sizeof(float));
                    return MemoryMarshal.Cast<byte, float>(raw).ToArray();
                }
                RequireLength(tensor, tensor.FloatData.Count, count);
                return [.. tensor.FloatData];
            case ElementType.Float16:
                var halves = new float[count];
                if (!raw.IsEmpty)
                {
                    RequireLength(tensor, raw.Length, count * 2);
                    for (var i = 0; i < count; i++)
                    {
                        halves[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]));
                    }
                    return halves;
                }
                RequireLength(tensor, tensor.Int32Data.Count, count);
                for (var i = 0; i < count; i++)
                {
                    halves[i] = (float)BitConverter.UInt16BitsToHalf((ushort)tensor.Int32Data[i]);
                }
                return halves;
            case ElementType.Double:
                if (!raw.IsEmpty)
                {
                    RequireLength(tensor, raw.Length, count * sizeof(double));
                    return [.. MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(d => (float)d)];
                }
                return [.. tensor.DoubleData.Select(d => (float)d)];
            default:
                throw new ModelToolException($"Initializer '{tensor.Name}' has element type {(ElementType)tensor.DataType}, not a float type.");
        }
    }

    /// <summary>The values of an INT8, UINT8 or INT32 tensor (quantized weights, zero points, biases) as INT32.</summary>
    public static int[] ReadIntegers(TensorProto tensor)
    {
        var count = checked((int)ElementCount(tensor));
        var raw = tensor.RawData.Span;
        var type = (ElementType)tensor.DataType;
        if (type is not (ElementType.Int8 or ElementType.Uint8 or ElementType.Int32))
        {
            throw new ModelToolException($"Initializer '{tensor.Name}' has element type {type}, not INT8, UINT8 or INT32.");
        }
        if (raw.IsEmpty)
        {
            RequireLength(tensor, tensor.Int32Data.Count, count);
            return [.. tensor.Int32Data];
        }
        RequireLength(tensor, raw.Length, count * (type == ElementType.Int32 ? sizeof(int) : 1));
        return type switch
        {
            ElementType.Int8 => [.. MemoryMarshal.Cast<byte, sbyte>(raw).ToArray().Select(v => (int)v)],
            ElementType.Uint8 => [.. raw.ToArray().Select(v => (int)v)],
            _ => MemoryMarshal.Cast<byte, int>(raw).ToArray(),
        };
    }

    /// <summary>The values of an INT64 tensor (shapes, axes).</summary>
    public static long[] ReadInt64s(TensorProto tensor)
    {
        if ((ElementType)tensor.DataType != ElementType.Int64)
        {
            throw new ModelToolException($"Initializer '{tensor.Name}' has element type {(ElementType)tensor.DataType}, not INT64.");
        }
        var count = checked((int)ElementCount(tensor));
        var raw = tensor.RawData.Span;
        if (raw.IsEmpty)
        {
            RequireLength(tensor, tensor.Int64Data.Count, count);
            return [.. tensor.Int64Data];
        }
        RequireLength(tensor, raw.Length, count * sizeof(long));
        return MemoryMarshal.Cast<byte, long>(raw).ToArray();
    }

    public static TensorProto Float(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values) =>
        Raw(name, dims, ElementType.Float, MemoryMarshal.AsBytes(values));

    public static TensorProto Float16(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values)
    {
        var halves = new Half[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            halves[i] = (Half)values[i];
        }
        return Raw(name, dims, ElementType.Float16, MemoryMarshal.AsBytes(halves.AsSpan()));
    }

    public static TensorProto Int8(string name, IReadOnlyList<long> dims, ReadOnlySpan<sbyte> values) =>
        Raw(name, dims, ElementType.Int8, MemoryMarshal.AsBytes(values));

    public static TensorProto UInt8(string name, IReadOnlyList<long> dims, ReadOnlySpan<byte> values) =>
        Raw(name, dims, ElementType.Uint8, values);

    public static TensorProto Int32(string name, IReadOnlyList<long> dims, ReadOnlySpan<int> values) =>
        Raw(name, dims, ElementType.Int32, MemoryMarshal.AsBytes(values));

    public static TensorProto Int64(string name, IReadOnlyList<long> dims, ReadOnlySpan<long> values) =>
        Raw(name, dims, ElementType.Int64, MemoryMarshal.AsBytes(values));

    /// <summary>A rank-0 FP32 tensor.</summary>
    public static TensorProto ScalarFloat(string name, float value) => Float(name, [], [value]);

    private static TensorProto Raw(string name, IReadOnlyList<long> dims, ElementType type, ReadOnlySpan<byte> bytes)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("raw_data is written from memory and must be little-endian.");
        }
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.Add(dims);
        return tensor;
    }

    private static void RequireLength(TensorProto tensor, int actual, int expected)
    {
        if (actual != expected)
        {
            throw new ModelToolException($"Initializer '{tensor.Name}' holds {actual} values or bytes, its dims say {expected}.");
        }
    }
}
