using Inference.Server.Backends.CudnnGraph.Graph;

namespace Inference.Server.Backends.CudnnGraph.Fusion;

/// <summary>A network after fusion (<see cref="FusionPlanner"/>): the same inputs and outputs, fewer steps, and the
/// tensors that are still written (the fused-away intermediates are gone).</summary>
public sealed record FusedNetwork(
    IReadOnlyList<NetworkTensor> Inputs, IReadOnlyList<NetworkTensor> Outputs, IReadOnlyList<FusedStep> Steps,
    IReadOnlyDictionary<string, NetworkTensor> Tensors)
{
    /// <summary>What the plan holds, for the log: "53 conv blocks (16 with a residual add, 49 with ReLU), 4 other steps: ...".</summary>
    public string Describe()
    {
        var blocks = Steps.OfType<ConvBlockStep>().ToList();
        var others = Steps.Where(s => s is not ConvBlockStep)
            .GroupBy(s => s is SingleStep single ? single.Op.Kind : "per-channel affine")
            .Select(g => $"{g.Count()} {g.Key}");
        return $"{blocks.Count} conv blocks ({blocks.Count(b => b.Residual is not null)} with a residual add, {blocks.Count(b => b.Relu)} with ReLU)"
            + (Steps.Count > blocks.Count ? $", {Steps.Count - blocks.Count} other steps: {string.Join(", ", others)}" : "");
    }
}
