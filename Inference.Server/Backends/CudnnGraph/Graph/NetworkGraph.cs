namespace Inference.Server.Backends.CudnnGraph.Graph;

/// <summary>
/// A network as the engine sees it: its inputs and outputs, every tensor's per-sample shape and type, and the
/// operations in an order in which each reads only what the inputs or earlier operations wrote (ONNX's own order).
/// </summary>
public sealed record NetworkGraph(
    IReadOnlyList<NetworkTensor> Inputs, IReadOnlyList<NetworkTensor> Outputs, IReadOnlyList<NetworkOp> Ops,
    IReadOnlyDictionary<string, NetworkTensor> Tensors)
{
    /// <summary>How many operations read each tensor, graph outputs counting as one reader each.</summary>
    public Dictionary<string, int> ReaderCounts()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in Ops.SelectMany(o => o.Inputs).Concat(Outputs.Select(o => o.Name)))
        {
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        return counts;
    }
}
