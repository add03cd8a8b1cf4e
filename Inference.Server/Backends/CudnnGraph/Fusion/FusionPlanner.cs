using Inference.Server.Backends.CudnnGraph.Graph;

namespace Inference.Server.Backends.CudnnGraph.Fusion;

/// <summary>
/// Groups a <see cref="NetworkGraph"/> into the steps the engine runs: each convolution takes the per-channel
/// affines (BatchNormalization) that follow it into its weights and bias, then the residual Add and the ReLU that
/// follow, while each fused-away tensor has that one reader and is not a graph output (else it must exist and the
/// chain stops there). Consecutive affines merge into one, and a QuantizeLinear into its sole DequantizeLinear.
/// Everything else is a step of its own (a QDQ model's activation pairs stop the conv chains for now: their 8-bit
/// fusion comes with the 8-bit engine). A fused step runs
/// where its last fused operation stood, so the residual's producer (a downsample branch, say) has run by then.
/// </summary>
public static class FusionPlanner
{
    public static FusedNetwork Plan(NetworkGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var readers = graph.ReaderCounts();
        var byInput = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Ops.Count; i++)
        {
            foreach (var input in graph.Ops[i].Inputs)
            {
                (byInput.TryGetValue(input, out var list) ? list : byInput[input] = []).Add(i);
            }
        }
        var used = new bool[graph.Ops.Count];
        // The op at index i produces its fused step there (the last op of a chain), or nothing when it was fused into one.
        var stepAt = new FusedStep?[graph.Ops.Count];

        // The only reader of a tensor that nobody else needs (not a graph output), if it has not been taken already.
        int? SoleReader(string tensor) =>
            readers.GetValueOrDefault(tensor) == 1 && byInput.TryGetValue(tensor, out var list) && list.Count == 1 && !used[list[0]]
                ? list[0]
                : null;

        for (var i = 0; i < graph.Ops.Count; i++)
        {
            if (used[i])
            {
                continue;
            }
            used[i] = true;
            switch (graph.Ops[i])
            {
                case ConvOp conv:
                    {
                        var last = i;
                        var (weight, bias) = (conv.Weight, conv.Bias);
                        var output = conv.Output;
                        while (SoleReader(output) is { } next && graph.Ops[next] is ChannelAffineOp affine)
                        {
                            (weight, bias) = Fold(conv.Geometry, weight, bias, affine);
                            (used[next], last, output) = (true, next, affine.Output);
                        }
                        string? residual = null;
                        var relu = false;
                        if (SoleReader(output) is { } add && graph.Ops[add] is AddOp sum && sum.A != sum.B)
                        {
                            residual = sum.A == output ? sum.B : sum.A;
                            (used[add], last, output) = (true, add, sum.Output);
                        }
                        if (SoleReader(output) is { } r && graph.Ops[r] is ReluOp reluOp)
                        {
                            relu = true;
                            (used[r], last, output) = (true, r, reluOp.Output);
                        }
                        var fused = conv with { Output = output, Weight = weight, Bias = bias };
                        stepAt[last] = new ConvBlockStep(fused, residual, relu, output);
                        break;
                    }
                case ChannelAffineOp affine:
                    {
                        var last = i;
                        var merged = affine;
                        while (SoleReader(merged.Output) is { } next && graph.Ops[next] is ChannelAffineOp following)
                        {
                            merged = Merge(merged, following);
                            (used[next], last) = (true, next);
                        }
                        stepAt[last] = new AffineStep(merged);
                        break;
                    }
                case QuantizeOp quantize when SoleReader(quantize.Output) is { } next && graph.Ops[next] is DequantizeOp dequantize:
                    used[next] = true;
                    stepAt[next] = new FakeQuantStep(quantize, dequantize);
                    break;
                default:
                    stepAt[i] = new SingleStep(graph.Ops[i]);
                    break;
            }
        }

        var steps = stepAt.Where(s => s is not null).Select(s => s!).ToList();
        var written = new HashSet<string>(graph.Inputs.Select(t => t.Name).Concat(steps.Select(s => s.Output)), StringComparer.Ordinal);
        var tensors = graph.Tensors.Where(kv => written.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new FusedNetwork(graph.Inputs, graph.Outputs, steps, tensors);
    }

    /// <summary>affine(conv(x; W, b)) = conv(x; W * scale[o], b * scale[o] + shift[o]).</summary>
    private static (float[] Weight, float[] Bias) Fold(ConvGeometry g, float[] weight, float[] bias, ChannelAffineOp affine)
    {
        var perOutput = weight.Length / g.OutChannels;
        var w = new float[weight.Length];
        var b = new float[bias.Length];
        for (var o = 0; o < g.OutChannels; o++)
        {
            var scale = affine.Scale[o];
            for (var k = 0; k < perOutput; k++)
            {
                w[o * perOutput + k] = weight[o * perOutput + k] * scale;
            }
            b[o] = bias[o] * scale + affine.Shift[o];
        }
        return (w, b);
    }

    /// <summary>second(first(x)) = x * (s1 * s2) + (t1 * s2 + t2).</summary>
    private static ChannelAffineOp Merge(ChannelAffineOp first, ChannelAffineOp second)
    {
        var scale = new float[first.Scale.Length];
        var shift = new float[first.Shift.Length];
        for (var c = 0; c < scale.Length; c++)
        {
            scale[c] = first.Scale[c] * second.Scale[c];
            shift[c] = first.Shift[c] * second.Scale[c] + second.Shift[c];
        }
        return new ChannelAffineOp(first.Name + "+" + second.Name, first.Input, second.Output, scale, shift);
    }
}
