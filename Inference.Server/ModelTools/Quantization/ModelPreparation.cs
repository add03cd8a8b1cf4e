using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;

namespace Inference.Server.ModelTools.Quantization;

/// <summary>
/// Gets an FP32 model ready for QDQ quantization, without changing what it computes: folds each
/// BatchNormalization that follows a Conv (and is that Conv's only reader) into the Conv's weights and bias, so the
/// folded weights are what gets quantized per channel (and the Conv can become one int8 kernel); and raises the
/// default opset to 13 (per-channel QuantizeLinear/DequantizeLinear) when the model's operators mean the same
/// there. A model below opset 13 using other operators is refused, naming them.
/// </summary>
public static class ModelPreparation
{
    public const long QdqOpset = 13;

    /// <summary>Operators whose meaning is the same from opset 7 up to 13 (attributes they may carry included).</summary>
    private static readonly HashSet<string> StableSinceOpset7 =
    [
        "Conv", "Relu", "Add", "Sub", "Mul", "Div", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "Flatten", "Gemm", "MatMul", "Concat", "Reshape", "Transpose", "Identity", "Sigmoid", "Tanh", "LeakyRelu",
        "BatchNormalization",
    ];

    public static void Prepare(ModelProto model)
    {
        FoldBatchNorms(model.Graph);
        var opset = OnnxModelFile.DefaultOpset(model);
        if (opset >= QdqOpset)
        {
            return;
        }
        var unsafeOps = model.Graph.Node.Select(n => n.OpType).Where(op => !StableSinceOpset7.Contains(op)).Distinct().ToList();
        if (opset < 7 || unsafeOps.Count > 0)
        {
            throw new ModelToolException($"The model imports opset {opset}; QDQ quantization needs opset {QdqOpset} and the tools can raise it only " +
                $"from opset 7 for common vision operators{(unsafeOps.Count > 0 ? $" (not {string.Join(", ", unsafeOps)})" : "")}. Re-export with opset {QdqOpset} or later.");
        }
        foreach (var bn in model.Graph.Node.Where(n => n.OpType == "BatchNormalization"))
        {
            // 'spatial' (always 1 in practice) was removed in opset 9.
            var spatial = bn.Attribute.FirstOrDefault(a => a.Name == "spatial");
            if (spatial is not null && spatial.I != 1)
            {
                throw new ModelToolException($"BatchNormalization '{bn.Name}' has spatial=0, which opset {QdqOpset} cannot express.");
            }
            bn.Attribute.Remove(spatial);
        }
        OnnxModelFile.SetDefaultOpset(model, QdqOpset);
    }

    /// <summary>Conv(W, b) followed by BatchNormalization(γ, β, μ, σ²) becomes Conv(W·k, (b-μ)·k+β) with
    /// k = γ/√(σ²+ε) per output channel. Returns the number of folded pairs.</summary>
    public static int FoldBatchNorms(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = OnnxNodes.Consumers(graph);
        var producers = OnnxNodes.Producers(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var used = OnnxNodes.UsedNames(graph);
        var removed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var bn in graph.Node.Where(n => n.OpType == "BatchNormalization" && n.Output.Count(o => o.Length > 0) == 1).ToList())
        {
            if (!producers.TryGetValue(bn.Input[0], out var conv) || conv.OpType != "Conv" || outputs.Contains(bn.Input[0]) ||
                consumers[bn.Input[0]].Count != 1 || !initializers.ContainsKey(conv.Input[1]) ||
                (conv.Input.Count > 2 && conv.Input[2].Length > 0 && !initializers.ContainsKey(conv.Input[2])) ||
                bn.Input.Skip(1).Any(i => !initializers.ContainsKey(i)))
            {
                continue;
            }
            var weightTensor = initializers[conv.Input[1]];
            var weights = OnnxTensorData.ReadFloats(weightTensor);
            var channels = (int)weightTensor.Dims[0];
            var gamma = OnnxTensorData.ReadFloats(initializers[bn.Input[1]]);
            var beta = OnnxTensorData.ReadFloats(initializers[bn.Input[2]]);
            var mean = OnnxTensorData.ReadFloats(initializers[bn.Input[3]]);
            var variance = OnnxTensorData.ReadFloats(initializers[bn.Input[4]]);
            var epsilon = OnnxNodes.FloatAttribute(bn, "epsilon", 1e-5f);
            var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? OnnxTensorData.ReadFloats(initializers[conv.Input[2]]) : new float[channels];
            var perChannel = weights.Length / channels;
            var newBias = new float[channels];
            for (var c = 0; c < channels; c++)
            {
                var k = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
                for (var j = 0; j < perChannel; j++)
                {
                    weights[c * perChannel + j] *= k;
                }
                newBias[c] = (bias[c] - mean[c]) * k + beta[c];
            }
            // New initializer names: the old ones may be shared with other nodes.
            var weightName = OnnxNodes.UniqueName(used, conv.Input[1] + "_bnfolded");
            var biasName = OnnxNodes.UniqueName(used, conv.Name + "_bias_bnfolded");
            graph.Initializer.Add(OnnxTensorData.Float(weightName, weightTensor.Dims, weights));
            graph.Initializer.Add(OnnxTensorData.Float(biasName, [channels], newBias));
            conv.Input[1] = weightName;
            if (conv.Input.Count > 2)
            {
                conv.Input[2] = biasName;
            }
            else
            {
                conv.Input.Add(biasName);
            }
            conv.Output[0] = bn.Output[0];
            removed.Add(bn);
        }
        if (removed.Count > 0)
        {
            var kept = graph.Node.Where(n => !removed.Contains(n)).ToList();
            graph.Node.Clear();
            graph.Node.Add(kept);
            RemoveUnusedInitializers(graph);
        }
        return removed.Count;
    }

    /// <summary>Drops initializers no node reads and no graph output names.</summary>
    public static void RemoveUnusedInitializers(GraphProto graph)
    {
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var kept = graph.Initializer.Where(t => read.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(kept);
        var produced = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var valueInfo = graph.ValueInfo.Where(v => read.Contains(v.Name) || produced.Contains(v.Name)).ToList();
        graph.ValueInfo.Clear();
        graph.ValueInfo.Add(valueInfo);
    }
}
