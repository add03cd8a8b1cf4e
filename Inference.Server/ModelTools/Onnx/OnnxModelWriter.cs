using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>
/// Serializes an <see cref="OnnxGraphBuilder"/> as an ONNX ModelProto (IR version 8, opset 17, producer
/// "aspire-inference"). The small parts go through the generated protobuf classes; each initializer's
/// raw_data is generated into one pooled buffer and framed by hand, so memory stays at the size of the largest
/// single tensor. The output is a valid protobuf message (fields may appear in any order).
/// </summary>
public static class OnnxModelWriter
{
    public const long IrVersion = 8;
    public const long OpsetVersion = 17;
    public const string ProducerName = "aspire-inference";
    public const string ProducerVersion = "1.0";

    private const int WireTypeLengthDelimited = 2;
    private const int ModelGraphField = 7;
    private const int GraphInitializerField = 5;
    private const int TensorRawDataField = 9;

    /// <summary>Writes the model to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void Write(OnnxGraphBuilder graph, string path) => AtomicFile.Write(path, s => Write(graph, s));

    /// <summary>Writes the model to <paramref name="stream"/> (not disposed).</summary>
    public static void Write(OnnxGraphBuilder graph, Stream stream)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("raw_data is written from memory and must be little-endian.");
        }

        var model = new ModelProto { IrVersion = IrVersion, ProducerName = ProducerName, ProducerVersion = ProducerVersion };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        model.WriteTo(stream);

        var skeleton = graph.BuildSkeleton();
        var headers = graph.Initializers.Select(TensorHeader).ToArray();
        long graphLength = skeleton.CalculateSize();
        for (var i = 0; i < headers.Length; i++)
        {
            var tensorLength = TensorLength(headers[i], graph.Initializers[i]);
            graphLength += TagSize(GraphInitializerField) + VarintSize((ulong)tensorLength) + tensorLength;
        }

        WriteTag(stream, ModelGraphField);
        WriteVarint(stream, (ulong)graphLength);
        skeleton.WriteTo(stream);
        for (var i = 0; i < headers.Length; i++)
        {
            WriteInitializer(stream, headers[i], graph.Initializers[i]);
        }
    }

    private static TensorProto TensorHeader(OnnxInitializer initializer)
    {
        var header = new TensorProto { Name = initializer.Name, DataType = (int)TensorProto.Types.DataType.Float };
        header.Dims.Add(initializer.Dims);
        return header;
    }

    private static long RawLength(OnnxInitializer initializer) => checked(initializer.ElementCount * sizeof(float));

    private static long TensorLength(TensorProto header, OnnxInitializer initializer)
    {
        var raw = RawLength(initializer);
        return header.CalculateSize() + TagSize(TensorRawDataField) + VarintSize((ulong)raw) + raw;
    }

    private static void WriteInitializer(Stream stream, TensorProto header, OnnxInitializer initializer)
    {
        var count = checked((int)initializer.ElementCount);
        var values = ArrayPool<float>.Shared.Rent(Math.Max(count, 1));
        try
        {
            var span = values.AsSpan(0, count);
            initializer.Fill(span);
            WriteTag(stream, GraphInitializerField);
            WriteVarint(stream, (ulong)TensorLength(header, initializer));
            header.WriteTo(stream);
            WriteTag(stream, TensorRawDataField);
            WriteVarint(stream, (ulong)RawLength(initializer));
            stream.Write(MemoryMarshal.AsBytes(span));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
        }
    }

    private static int TagSize(int field) => VarintSize((ulong)(field << 3));

    private static int VarintSize(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    private static void WriteTag(Stream stream, int field) => WriteVarint(stream, (ulong)((field << 3) | WireTypeLengthDelimited));

    private static void WriteVarint(Stream stream, ulong value)
    {
        Span<byte> buffer = stackalloc byte[10];
        var n = 0;
        while (value >= 0x80)
        {
            buffer[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        buffer[n++] = (byte)value;
        stream.Write(buffer[..n]);
    }
}
