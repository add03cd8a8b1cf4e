using Inference.Server.Core;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ModelConfig = Inference.Server.Protos.ModelConfig;
using ModelInput = Inference.Server.Protos.ModelInput;
using ModelOutput = Inference.Server.Protos.ModelOutput;
using ConfigDataType = Inference.Server.Protos.DataType;

namespace Inference.Tests.Backends;

/// <summary>Small ONNX graphs written with our own writer, and matching configs and requests.</summary>
internal static class TestModels
{
    public static TensorProto.Types.DataType OnnxType(DataType type) => type switch
    {
        DataType.Bool => TensorProto.Types.DataType.Bool,
        DataType.UInt8 => TensorProto.Types.DataType.Uint8,
        DataType.UInt16 => TensorProto.Types.DataType.Uint16,
        DataType.UInt32 => TensorProto.Types.DataType.Uint32,
        DataType.UInt64 => TensorProto.Types.DataType.Uint64,
        DataType.Int8 => TensorProto.Types.DataType.Int8,
        DataType.Int16 => TensorProto.Types.DataType.Int16,
        DataType.Int32 => TensorProto.Types.DataType.Int32,
        DataType.Int64 => TensorProto.Types.DataType.Int64,
        DataType.Fp16 => TensorProto.Types.DataType.Float16,
        DataType.Fp32 => TensorProto.Types.DataType.Float,
        DataType.Fp64 => TensorProto.Types.DataType.Double,
        DataType.Bytes => TensorProto.Types.DataType.String,
        DataType.Bf16 => TensorProto.Types.DataType.Bfloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>y = Identity(x) over <paramref name="dims"/> (use "batch" for a variable first dim).</summary>
    public static void WriteIdentity(string path, DataType type, params OnnxDim[] dims)
    {
        var g = new OnnxGraphBuilder("identity");
        g.AddInput("x", OnnxType(type), dims);
        g.AddOutput("y", OnnxType(type), dims);
        g.AddNode("Identity", ["x"], ["y"]);
        g.Save(path);
    }

    /// <summary>x: FP32 [batch, 3]; outputs "relu" = Relu(x) and "neg" = Neg(x).</summary>
    public static void WriteTwoOutputs(string path)
    {
        var g = new OnnxGraphBuilder("two");
        g.AddInput("x", TensorProto.Types.DataType.Float, "batch", 3);
        g.AddOutput("relu", TensorProto.Types.DataType.Float, "batch", 3);
        g.AddOutput("neg", TensorProto.Types.DataType.Float, "batch", 3);
        g.AddNode("Relu", ["x"], ["relu"]);
        g.AddNode("Neg", ["x"], ["neg"]);
        g.Save(path);
    }

    public static ModelConfig Config(string name, int maxBatchSize, params (string Name, DataType Type, long[] Dims, bool IsOutput)[] tensors)
    {
        var config = new ModelConfig { Name = name, Platform = "onnxruntime_onnx", MaxBatchSize = maxBatchSize };
        foreach (var t in tensors)
        {
            if (t.IsOutput)
            {
                var o = new ModelOutput { Name = t.Name, DataType = (ConfigDataType)(int)t.Type };
                o.Dims.Add(t.Dims);
                config.Output.Add(o);
            }
            else
            {
                var i = new ModelInput { Name = t.Name, DataType = (ConfigDataType)(int)t.Type };
                i.Dims.Add(t.Dims);
                config.Input.Add(i);
            }
        }
        return config;
    }

    public static InferTensor Tensor<T>(string name, DataType type, long[] shape, T[] values) where T : unmanaged
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
        var buffer = PooledBuffer.Rent(bytes.Length);
        bytes.CopyTo(buffer.Span);
        return new InferTensor(name, type, shape, buffer.Memory, buffer);
    }

    public static InferenceRequest Request(string model, string id, int batchSize, params InferTensor[] inputs)
    {
        var request = new InferenceRequest { ModelName = model, Id = id, BatchSize = batchSize };
        request.Inputs.AddRange(inputs);
        return request;
    }

    public static T[] Values<T>(InferTensor tensor) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(tensor.Data.Span).ToArray();

    /// <summary>Decodes Triton's BYTES layout (4-byte little-endian length + bytes per element).</summary>
    public static string[] Strings(InferTensor tensor)
    {
        var list = new List<string>();
        var span = tensor.Data.Span;
        while (span.Length > 0)
        {
            var n = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(span);
            list.Add(System.Text.Encoding.UTF8.GetString(span.Slice(4, n)));
            span = span[(4 + n)..];
        }
        return list.ToArray();
    }
}
