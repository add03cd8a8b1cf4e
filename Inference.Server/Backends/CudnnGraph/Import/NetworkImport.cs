using Inference.Server.Backends.CudnnGraph.Graph;

namespace Inference.Server.Backends.CudnnGraph.Import;

/// <summary>The outcome of an import: the network, or why the engine cannot take the model (the node, its
/// operator and the reason), in which case the model runs on the plain CUDA provider.</summary>
public sealed record NetworkImport(NetworkGraph? Graph, string? Unsupported)
{
    public bool IsSuccess => Graph is not null;

    public static NetworkImport Ok(NetworkGraph graph) => new(graph, null);

    public static NetworkImport Fail(string reason) => new(null, reason);
}
