using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Onnx;

/// <summary>
/// Collects an ONNX graph: typed inputs/outputs, nodes with attributes, and float initializers whose values
/// are generated lazily while the file is written (see <see cref="OnnxModelWriter"/>), so big models never sit
/// in memory whole. Names must be unique; nodes must be added in topological order. Not thread-safe.
/// </summary>
public sealed class OnnxGraphBuilder(string graphName)
{
    private readonly List<NodeProto> _nodes = [];
    private readonly List<ValueInfoProto> _inputs = [];
    private readonly List<ValueInfoProto> _outputs = [];
    private readonly List<OnnxInitializer> _initializers = [];
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);

    public string GraphName { get; } = graphName;

    public IReadOnlyList<OnnxInitializer> Initializers => _initializers;

    public IReadOnlyList<NodeProto> Nodes => _nodes;

    /// <summary>Total number of initializer elements (the model's stored parameters).</summary>
    public long ParameterCount => _initializers.Sum(i => i.ElementCount);

    public void AddInput(string name, TensorProto.Types.DataType elementType, params OnnxDim[] dims) =>
        _inputs.Add(ValueInfo(name, elementType, dims));

    public void AddOutput(string name, TensorProto.Types.DataType elementType, params OnnxDim[] dims) =>
        _outputs.Add(ValueInfo(name, elementType, dims));

    /// <summary>Adds an FP32 initializer stored as raw little-endian bytes; returns its name.</summary>
    public string AddInitializer(string name, long[] dims, OnnxInitializer.FillAction fill)
    {
        if (!_initializerNames.Add(name))
        {
            throw new ArgumentException($"Initializer '{name}' already exists.", nameof(name));
        }
        _initializers.Add(new OnnxInitializer(name, dims, fill));
        return name;
    }

    /// <summary>Adds a node of the default (ai.onnx) domain; returns its first output name.</summary>
    public string AddNode(string opType, string[] inputs, string[] outputs, string? name = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name ?? $"{opType}_{_nodes.Count}" };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        _nodes.Add(node);
        return outputs[0];
    }

    /// <summary>The graph without initializers (those are streamed separately by the writer).</summary>
    public GraphProto BuildSkeleton()
    {
        var graph = new GraphProto { Name = GraphName };
        graph.Node.Add(_nodes);
        graph.Input.Add(_inputs);
        graph.Output.Add(_outputs);
        return graph;
    }

    /// <summary>Writes the model to <paramref name="path"/> atomically (see <see cref="OnnxModelWriter"/>).</summary>
    public void Save(string path) => OnnxModelWriter.Write(this, path);

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType elementType, OnnxDim[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d.IsSymbolic
                ? new TensorShapeProto.Types.Dimension { DimParam = d.Symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = d.Value });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }
}
