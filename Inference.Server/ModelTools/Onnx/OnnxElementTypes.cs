using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>
/// The element type of every value of a graph, from the graph's inputs, initializers and declared value_info,
/// then propagated through the nodes in order with per-operator rules: Cast's <c>to</c>; integer results of
/// Shape, Size, ArgMax, NonZero and friends; BOOL from comparisons; Constant's value; DequantizeLinear's FLOAT;
/// otherwise each output takes the type of the node's first input whose type is known (right for the
/// elementwise, pooling, convolution and layout operators of vision models). Values whose type cannot be told
/// are absent. Custom-domain nodes are not propagated.
/// </summary>
public static class OnnxElementTypes
{
    private static readonly HashSet<string> Int64Results =
        ["Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression"];

    private static readonly HashSet<string> BoolResults =
        ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"];

    public static Dictionary<string, ElementType> Infer(GraphProto graph)
    {
        var types = new Dictionary<string, ElementType>(StringComparer.Ordinal);
        foreach (var v in graph.Input.Concat(graph.ValueInfo).Concat(graph.Output))
        {
            if (v.Type?.TensorType is { ElemType: > 0 } t)
            {
                types[v.Name] = (ElementType)t.ElemType;
            }
        }
        foreach (var t in graph.Initializer)
        {
            types[t.Name] = (ElementType)t.DataType;
        }
        foreach (var node in graph.Node)
        {
            if (node.Domain is not ("" or "ai.onnx"))
            {
                continue;
            }
            var first = node.Input.Where(i => i.Length > 0 && types.ContainsKey(i)).Select(i => types[i]).Cast<ElementType?>().FirstOrDefault();
            for (var o = 0; o < node.Output.Count; o++)
            {
                if (node.Output[o].Length == 0)
                {
                    continue;
                }
                var type = OutputType(node, o, first, types);
                if (type is { } known)
                {
                    types[node.Output[o]] = known;
                }
            }
        }
        return types;
    }

    private static ElementType? OutputType(NodeProto node, int output, ElementType? first, Dictionary<string, ElementType> types)
    {
        switch (node.OpType)
        {
            case "Cast":
                return (ElementType)OnnxNodes.IntAttribute(node, "to", 0);
            case "CastLike":
                return types.TryGetValue(node.Input[1], out var like) ? like : null;
            case "DequantizeLinear":
                return ElementType.Float;
            case "QuantizeLinear":
                return node.Input.Count > 2 && types.TryGetValue(node.Input[2], out var zp) ? zp : ElementType.Uint8;
            case "Constant":
                var value = node.Attribute.FirstOrDefault(a => a.Name == "value");
                if (value?.T is { } t)
                {
                    return (ElementType)t.DataType;
                }
                return node.Attribute.Any(a => a.Name is "value_float" or "value_floats") ? ElementType.Float : ElementType.Int64;
            case "ConstantOfShape":
                return node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } fill ? (ElementType)fill.DataType : ElementType.Float;
            case "TopK" when output == 1:
            case "MaxPool" when output == 1:
                return ElementType.Int64;
            case "Where":
                return node.Input.Count > 1 && types.TryGetValue(node.Input[1], out var w) ? w : null;
            case "Gather" or "GatherElements" or "GatherND" or "Expand" or "Tile" or "Slice" or "Reshape":
                return types.TryGetValue(node.Input[0], out var data) ? data : null;
        }
        if (Int64Results.Contains(node.OpType))
        {
            return ElementType.Int64;
        }
        if (BoolResults.Contains(node.OpType))
        {
            return ElementType.Bool;
        }
        return first;
    }
}
