using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Conversion;

/// <summary>
/// Converts an FP32 ONNX model to compute in FP16 while its graph inputs and outputs stay FP32 (Cast nodes at the
/// edges), like onnxconverter-common's float16 conversion with keep_io_types:
/// <list type="bullet">
/// <item>Every node of the default domain computes in FP16, except the numerically sensitive operators of
/// <see cref="KeptInFp32"/> (reductions whose sums overflow or lose precision in FP16, exponentials and logs,
/// normalizations dividing by a standard deviation) and nodes of other domains, which keep FP32 with Casts around
/// them. Float inputs that are shape parameters rather than data (Resize's roi/scales, Upsample's scales) stay FP32.</item>
/// <item>Float initializers read only by FP16 consumers are stored as FP16 (half the bytes); the others stay
/// FP32 and are cast where an FP16 consumer reads them. Float Constants of FP16 nodes become FP16; Cast nodes to
/// FLOAT inside the FP16 region cast to FLOAT16.</item>
/// <item>One Cast per value and precision is inserted where a consumer needs the other precision; graph outputs
/// computed in FP16 get a final Cast to FP32 under their original name. value_info entries follow the new types.</item>
/// </list>
/// The source model is not modified. Graphs with subgraphs (If/Loop/Scan) are refused.
/// </summary>
public static class Fp16Converter
{
    /// <summary>Operators computed in FP32 inside the converted model.</summary>
    public static IReadOnlySet<string> KeptInFp32 { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "Softmax", "LogSoftmax",
        "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",
        "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "LpNormalization",
        "MeanVarianceNormalization",
        "Exp", "Log", "Pow", "Sqrt", "Reciprocal", "Range", "CumSum",
        "QuantizeLinear", "DequantizeLinear",
    };

    private static readonly Dictionary<string, int[]> Fp32Inputs = new(StringComparer.Ordinal)
    {
        ["Resize"] = [1, 2],
        ["Upsample"] = [1],
    };

    public static ModelProto Convert(ModelProto source)
    {
        var model = source.Clone();
        var graph = model.Graph;
        OnnxNodes.RequireNoSubgraphs(graph, "convert --fp16");
        var types = OnnxElementTypes.Infer(graph);
        bool IsFloat(string name) => name.Length > 0 && types.TryGetValue(name, out var t) && t == ElementType.Float;

        var converted = new HashSet<NodeProto>(graph.Node.Where(IsConverted), ReferenceEqualityComparer.Instance);
        bool WantsFp16(NodeProto node, int index) =>
            converted.Contains(node) && !(Fp32Inputs.TryGetValue(node.OpType, out var fixedInputs) && fixedInputs.Contains(index));

        // Home precision of each float value: where it is produced.
        var fp16Home = new HashSet<string>(StringComparer.Ordinal);
        var initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = OnnxNodes.Consumers(graph);
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in initializerNames.Where(IsFloat))
        {
            var readers = consumers.GetValueOrDefault(name) ?? [];
            var allFp16 = readers.Count > 0 && !graphOutputs.Contains(name) &&
                readers.All(n => Enumerable.Range(0, n.Input.Count).Where(i => n.Input[i] == name).All(i => WantsFp16(n, i)));
            if (allFp16)
            {
                fp16Home.Add(name);
            }
        }
        foreach (var node in converted)
        {
            fp16Home.UnionWith(node.Output.Where(IsFloat));
        }

        var used = OnnxNodes.UsedNames(graph);
        // Graph outputs computed in FP16: the FP16 value gets a new name, the output name becomes the final Cast's.
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var output in graph.Output.Where(o => fp16Home.Contains(o.Name) && !initializerNames.Contains(o.Name)))
        {
            renamed[output.Name] = OnnxNodes.UniqueName(used, output.Name + "_fp16");
        }
        string Physical(string name) => renamed.GetValueOrDefault(name, name);

        var casts = new Dictionary<(string, bool), string>();
        var nodes = new List<NodeProto>();
        string Available(string name, bool fp16)
        {
            if (fp16Home.Contains(name) == fp16)
            {
                return Physical(name);
            }
            if (!casts.TryGetValue((name, fp16), out var cast))
            {
                cast = OnnxNodes.UniqueName(used, name + (fp16 ? "_to_fp16" : "_to_fp32"));
                var to = fp16 ? ElementType.Float16 : ElementType.Float;
                nodes.Add(OnnxNodes.Create("Cast", OnnxNodes.UniqueName(used, "Cast_" + cast), [Physical(name)], [cast],
                    OnnxAttributes.Int("to", (long)to)));
                casts[(name, fp16)] = cast;
            }
            return cast;
        }

        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (IsFloat(node.Input[i]))
                {
                    node.Input[i] = Available(node.Input[i], WantsFp16(node, i));
                }
            }
            for (var o = 0; o < node.Output.Count; o++)
            {
                node.Output[o] = Physical(node.Output[o]);
            }
            if (converted.Contains(node))
            {
                RetypeFloatAttributes(node);
            }
            nodes.Add(node);
        }
        foreach (var output in graph.Output.Where(o => renamed.ContainsKey(o.Name)))
        {
            nodes.Add(OnnxNodes.Create("Cast", OnnxNodes.UniqueName(used, "Cast_" + output.Name), [renamed[output.Name]], [output.Name],
                OnnxAttributes.Int("to", (long)ElementType.Float)));
        }
        graph.Node.Clear();
        graph.Node.Add(nodes);

        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            var t = graph.Initializer[i];
            if (fp16Home.Contains(t.Name))
            {
                graph.Initializer[i] = OnnxTensorData.Float16(t.Name, t.Dims, OnnxTensorData.ReadFloats(t));
            }
        }
        foreach (var info in graph.ValueInfo)
        {
            if (fp16Home.Contains(info.Name) && info.Type?.TensorType is { } tensorType)
            {
                tensorType.ElemType = (int)ElementType.Float16;
                info.Name = Physical(info.Name);
            }
        }
        OnnxModelFile.Stamp(model, "convert --fp16");
        return model;
    }

    private static bool IsConverted(NodeProto node) => node.Domain is "" or "ai.onnx" && !KeptInFp32.Contains(node.OpType);

    private static void RetypeFloatAttributes(NodeProto node)
    {
        if (node.OpType == "Cast" && OnnxNodes.IntAttribute(node, "to", 0) == (long)ElementType.Float)
        {
            node.Attribute.First(a => a.Name == "to").I = (long)ElementType.Float16;
        }
        if (node.OpType is "Constant" or "ConstantOfShape")
        {
            foreach (var a in node.Attribute.Where(a => a.Name == "value" && a.T is { DataType: (int)ElementType.Float }))
            {
                a.T = OnnxTensorData.Float16(a.T.Name, a.T.Dims, OnnxTensorData.ReadFloats(a.T));
            }
            var valueFloat = node.Attribute.FirstOrDefault(a => a.Name is "value_float" or "value_floats");
            if (valueFloat is not null)
            {
                float[] values = valueFloat.Name == "value_float" ? [valueFloat.F] : [.. valueFloat.Floats];
                long[] dims = valueFloat.Name == "value_float" ? [] : [values.Length];
                node.Attribute.Remove(valueFloat);
                node.Attribute.Add(new AttributeProto
                {
                    Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = OnnxTensorData.Float16("", dims, values),
                });
            }
        }
    }
}
