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
