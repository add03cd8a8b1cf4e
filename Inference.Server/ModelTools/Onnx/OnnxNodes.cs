using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>Node helpers: attribute reads with defaults, node construction in any domain, and a graph's
/// consumers by value name.</summary>
public static class OnnxNodes
{
    public static long IntAttribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    public static float FloatAttribute(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    public static NodeProto Create(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        return node;
    }

    /// <summary>For each value name, the nodes reading it (a node reading it twice appears twice).</summary>
    public static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
            {
                if (input.Length == 0)
                {
                    continue;
                }
                if (!consumers.TryGetValue(input, out var list))
                {
                    consumers[input] = list = [];
                }
                list.Add(node);
            }
        }
        return consumers;
    }

    /// <summary>For each value name, the node writing it.</summary>
    public static Dictionary<string, NodeProto> Producers(GraphProto graph)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                producers[output] = node;
            }
        }
        return producers;
    }

    /// <summary>Refuses graphs with control flow (If, Loop, Scan bodies), which the tools do not rewrite.</summary>
    public static void RequireNoSubgraphs(GraphProto graph, string tool)
    {
        var withGraph = graph.Node.FirstOrDefault(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0));
        if (withGraph is not null)
        {
            throw new ModelToolException($"{tool}: node '{withGraph.Name}' ({withGraph.OpType}) has a subgraph; models with control flow are not supported.");
        }
    }

    /// <summary>Returns a name not yet used by any value, node or initializer of the graph, based on
    /// <paramref name="stem"/>, and reserves it in <paramref name="used"/>.</summary>
    public static string UniqueName(HashSet<string> used, string stem)
    {
        var name = stem;
        for (var i = 1; !used.Add(name); i++)
        {
            name = $"{stem}_{i}";
        }
        return name;
    }

    /// <summary>All names in use in the graph: values, nodes, initializers.</summary>
    public static HashSet<string> UsedNames(GraphProto graph)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            used.Add(n.Name);
            used.UnionWith(n.Input);
            used.UnionWith(n.Output);
        }
        used.UnionWith(graph.Initializer.Select(t => t.Name));
        used.UnionWith(graph.Input.Select(v => v.Name));
        used.UnionWith(graph.Output.Select(v => v.Name));
        used.UnionWith(graph.ValueInfo.Select(v => v.Name));
        return used;
    }
}
