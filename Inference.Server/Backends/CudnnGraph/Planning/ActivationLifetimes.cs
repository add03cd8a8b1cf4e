using Inference.Server.Backends.CudnnGraph.Fusion;
using Inference.Server.Backends.CudnnGraph.Graph;
using Inference.Server.Backends.CudnnGraph.Layout;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.Backends.CudnnGraph.Planning;

/// <summary>
/// What each tensor of a <see cref="FusedNetwork"/> needs of the device arena at one batch size, for
/// <see cref="MemoryPlanner"/>: its bytes and the steps from the one that writes it to the last that reads it. All of a
/// network's tensors live in one arena, so that a CUDA graph captured once finds every address unchanged: the inputs
/// (written before step 0, in their wire type: the request's bytes) and the outputs (kept to the last step, in their
/// declared type) as well as the activations between them, which are FP16 NHWC with channels padded to
/// <see cref="ChannelAlignment"/> whatever the model's own precision.
/// </summary>
public static class ActivationLifetimes
{
    /// <summary>The lifetimes, with ids in the order of <see cref="Names"/>.</summary>
    public static IReadOnlyList<TensorLifetime> For(FusedNetwork network, int batch)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        var names = Names(network);
        var last = network.Steps.Count - 1;
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        var lastRead = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var input in network.Inputs)
        {
            first[input.Name] = 0;
        }
        for (var i = 0; i < network.Steps.Count; i++)
        {
            first.TryAdd(network.Steps[i].Output, i);
            foreach (var read in network.Steps[i].Reads)
            {
                lastRead[read] = i;
            }
        }
        foreach (var output in network.Outputs)
        {
            lastRead[output.Name] = last;
        }
        var edges = network.Inputs.Concat(network.Outputs).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return [.. names.Select((name, id) =>
        {
            var start = first[name];
            var bytes = batch * BytesPerSample(network.Tensors[name], edges.Contains(name));
            return new TensorLifetime(id, bytes, start, Math.Max(start, lastRead.GetValueOrDefault(name, start)));
        })];
    }

    /// <summary>The tensors in the arena: the inputs, then each step's output in order.</summary>
    public static IReadOnlyList<string> Names(FusedNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return [.. network.Inputs.Select(t => t.Name).Concat(network.Steps.Select(s => s.Output)).Distinct(StringComparer.Ordinal)];
    }

    private static long BytesPerSample(NetworkTensor tensor, bool atTheEdge)
    {
        if (atTheEdge)
        {
            return tensor.Elements * ElementBytes(tensor.Type);
        }
        // FP16, channels (the first per-sample dimension of an image, or the features) padded.
        var channels = ChannelAlignment.Pad(tensor.Shape[0]);
        return 2L * channels * tensor.Shape.Skip(1).Aggregate(1L, (p, d) => p * d);
    }

    private static int ElementBytes(ElementType type) => type switch
    {
        ElementType.Uint8 or ElementType.Int8 => 1,
        ElementType.Float16 => 2,
        ElementType.Float => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "the engine moves UINT8, INT8, FP16 and FP32 tensors only"),
    };
}
