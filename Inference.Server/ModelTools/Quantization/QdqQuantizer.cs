using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.ModelTools.Quantization;

/// <summary>
/// Static post-training quantization into ONNX's QDQ form (the form ONNX Runtime fuses into QLinearConv /
/// QGemm / QLinearAdd int8 kernels and TensorRT reads as explicit quantization):
/// <list type="bullet">
/// <item>Weights of Conv, Gemm and MatMul (initializers) become INT8, symmetric per output channel (axis 0 of
/// Conv and of Gemm with transB=1, axis 1 of Gemm with transB=0 and of MatMul), read through a
/// DequantizeLinear. Their 1-D biases become INT32 with scale input_scale × weight_scale[c] (what QLinearConv
/// expects; Gemm only with beta = 1).</item>
/// <item>Activations read or written by Conv, Gemm, MatMul, Add (of two activations), AveragePool,
/// GlobalAveragePool and ReLU get one QuantizeLinear → DequantizeLinear pair right after their producer, per
/// tensor, with ranges from <see cref="Calibrator"/>. Layout and pooling operators that do not change values
/// (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze) reuse their input's scale and zero point for their
/// output. Graph outputs stay FP32.</item>
/// <item>With asymmetric activations a ReLU whose input comes only from Conv/Gemm/MatMul/Add is removed and its
/// producer writes the ReLU's output, quantized over the ReLU's (non-negative) range: the quantizer's clamp at
/// the zero point is the ReLU.</item>
/// </list>
/// BatchNormalization after Conv is folded first and the opset raised to 13 (<see cref="ModelPreparation"/>).
/// The source model is not modified.
/// </summary>
public static class QdqQuantizer
{
    private static readonly HashSet<string> ComputeOps = ["Conv", "Gemm", "MatMul", "Add", "AveragePool", "GlobalAveragePool"];

    private static readonly HashSet<string> PassThroughOps = ["MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze"];

    private static readonly HashSet<string> ReluFoldingProducers = ["Conv", "Gemm", "MatMul", "Add"];

    public static QuantizationResult Quantize(ModelProto source, IReadOnlyList<ModelSample> calibration, QuantizationOptions options)
    {
        var model = source.Clone();
        var graph = model.Graph;
        OnnxNodes.RequireNoSubgraphs(graph, "quantize --int8");
        var foldedBatchNorms = ModelPreparation.FoldBatchNorms(graph);
        ModelPreparation.Prepare(model);

        var types = OnnxElementTypes.Infer(graph);
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = OnnxNodes.Consumers(graph);
        var producers = OnnxNodes.Producers(graph);
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        bool IsActivation(string name) =>
            name.Length > 0 && !initializers.ContainsKey(name) && types.TryGetValue(name, out var t) && t == ElementType.Float;

        // ReLUs folded into their producer (asymmetric activations only).
        var foldedRelus = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);
        if (options.Activations != ActivationQuantization.Int8Symmetric)
        {
            foreach (var relu in graph.Node.Where(n => n.OpType == "Relu"))
            {
                if (producers.TryGetValue(relu.Input[0], out var producer) && ReluFoldingProducers.Contains(producer.OpType) &&
                    consumers[relu.Input[0]].Count == 1 && !graphOutputs.Contains(relu.Input[0]) && !graphOutputs.Contains(relu.Output[0]) &&
                    producer.Output.Count == 1 && (producer.OpType != "Add" || producer.Input.All(IsActivation)))
                {
                    foldedRelus[producer] = relu;
                }
            }
        }
        var removedRelus = new HashSet<NodeProto>(foldedRelus.Values, ReferenceEqualityComparer.Instance);
        string EffectiveOutput(NodeProto node) => foldedRelus.TryGetValue(node, out var relu) ? relu.Output[0] : node.Output[0];

        // Which values get their own calibrated parameters, and which share their input's.
        var own = new List<string>();
        var ownSet = new HashSet<string>(StringComparer.Ordinal);
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        void AddOwn(string name)
        {
            if (!shared.ContainsKey(name) && ownSet.Add(name))
            {
                own.Add(name);
            }
        }
        var weightUses = new List<(NodeProto Node, int Axis)>();
        foreach (var node in graph.Node.Where(n => !removedRelus.Contains(n) && n.Domain is "" or "ai.onnx"))
        {
            var op = node.OpType;
            if (ComputeOps.Contains(op) || op == "Relu")
            {
                if (op == "Add" && !(node.Input.Count == 2 && node.Input.All(IsActivation)))
                {
                    continue;
                }
                var weightAxis = WeightAxis(node, initializers);
                if (op is "Gemm" or "MatMul" && node.Input.Count > 1 && !IsActivation(node.Input[1]) && weightAxis is null)
                {
                    continue; // A constant operand we cannot quantize per channel: leave the node in FP32.
                }
                if (weightAxis is { } axis)
                {
                    weightUses.Add((node, axis));
                }
                var dataInputs = op is "Add" or "MatMul" or "Gemm" ? node.Input.Take(2) : node.Input.Take(1);
                foreach (var input in dataInputs.Where(IsActivation))
                {
                    AddOwn(input);
                }
                var output = EffectiveOutput(node);
                if (IsActivation(output) && !graphOutputs.Contains(output))
                {
                    AddOwn(output);
                }
            }
            else if (PassThroughOps.Contains(op) && node.Input.Count > 0 && (ownSet.Contains(node.Input[0]) || shared.ContainsKey(node.Input[0])) &&
                     IsActivation(node.Output[0]) && !graphOutputs.Contains(node.Output[0]) && (op != "MaxPool" || node.Output.Count == 1))
            {
                shared[node.Output[0]] = shared.GetValueOrDefault(node.Input[0], node.Input[0]);
            }
        }

        var ranges = Calibrator.Collect(model, own, calibration, options);
        var parameters = own.ToDictionary(t => t, t => QuantizationParameters.From(ranges[t], options.Activations), StringComparer.Ordinal);

        // Rewrite: fold ReLUs, then add the Q/DQ nodes and quantized initializers.
        foreach (var (producer, relu) in foldedRelus)
        {
            producer.Output[0] = relu.Output[0];
        }
        var used = OnnxNodes.UsedNames(graph);
        var prefix = new List<NodeProto>();
        var after = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        var scaleNames = new Dictionary<string, (string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        foreach (var name in own)
        {
            var p = parameters[name];
            var scale = OnnxNodes.UniqueName(used, name + "_scale");
            var zeroPoint = OnnxNodes.UniqueName(used, name + "_zero_point");
            graph.Initializer.Add(OnnxTensorData.ScalarFloat(scale, p.Scale));
            graph.Initializer.Add(p.Signed ? OnnxTensorData.Int8(zeroPoint, [], [(sbyte)p.ZeroPoint]) : OnnxTensorData.UInt8(zeroPoint, [], [(byte)p.ZeroPoint]));
            scaleNames[name] = (scale, zeroPoint);
        }
        foreach (var name in own.Concat(shared.Keys))
        {
            var (scale, zeroPoint) = scaleNames[shared.GetValueOrDefault(name, name)];
            var q = OnnxNodes.UniqueName(used, name + "_quantized");
            var dq = OnnxNodes.UniqueName(used, name + "_dequantized");
            var pair = new List<NodeProto>
            {
                OnnxNodes.Create("QuantizeLinear", OnnxNodes.UniqueName(used, name + "_QuantizeLinear"), [name, scale, zeroPoint], [q]),
                OnnxNodes.Create("DequantizeLinear", OnnxNodes.UniqueName(used, name + "_DequantizeLinear"), [q, scale, zeroPoint], [dq]),
            };
            dequantized[name] = dq;
            if (producers.ContainsKey(name) || foldedRelus.Values.Any(r => r.Output[0] == name))
            {
                after[name] = pair;
            }
            else
            {
                prefix.AddRange(pair);
            }
        }

        var weightScales = new Dictionary<string, (string Dequantized, float[] Scales)>(StringComparer.Ordinal);
        var biasCount = 0;
        foreach (var (node, axis) in weightUses)
        {
            var weightName = node.Input[1];
            if (!weightScales.TryGetValue(weightName, out var weight))
            {
                var tensor = initializers[weightName];
                var (quantized, scales) = QuantizationParameters.QuantizeWeights(OnnxTensorData.ReadFloats(tensor), tensor.Dims, axis);
                var qName = OnnxNodes.UniqueName(used, weightName + "_quantized");
                var scaleName = OnnxNodes.UniqueName(used, weightName + "_scale");
                var zpName = OnnxNodes.UniqueName(used, weightName + "_zero_point");
                var dqName = OnnxNodes.UniqueName(used, weightName + "_dequantized");
                graph.Initializer.Add(OnnxTensorData.Int8(qName, tensor.Dims, quantized));
                graph.Initializer.Add(OnnxTensorData.Float(scaleName, [scales.Length], scales));
                graph.Initializer.Add(OnnxTensorData.Int8(zpName, [scales.Length], new sbyte[scales.Length]));
                prefix.Add(OnnxNodes.Create("DequantizeLinear", OnnxNodes.UniqueName(used, weightName + "_DequantizeLinear"),
                    [qName, scaleName, zpName], [dqName], OnnxAttributes.Int("axis", axis)));
                weight = (dqName, scales);
                weightScales[weightName] = weight;
            }
            node.Input[1] = weight.Dequantized;

            var hasBias = node.OpType is "Conv" or "Gemm" && node.Input.Count > 2 && initializers.TryGetValue(node.Input[2], out var biasTensor) &&
                biasTensor.Dims.Count == 1 && biasTensor.Dims[0] == weight.Scales.Length && biasTensor.DataType == (int)ElementType.Float &&
                parameters.ContainsKey(shared.GetValueOrDefault(node.Input[0], node.Input[0])) && (node.OpType != "Gemm" || OnnxNodes.FloatAttribute(node, "beta", 1f) == 1f);
            if (hasBias)
            {
                var bias = OnnxTensorData.ReadFloats(initializers[node.Input[2]]);
                var inputScale = parameters[shared.GetValueOrDefault(node.Input[0], node.Input[0])].Scale;
                var scales = weight.Scales.Select(s => inputScale * s).ToArray();
                var quantized = new int[bias.Length];
                for (var c = 0; c < bias.Length; c++)
                {
                    quantized[c] = (int)Math.Clamp(Math.Round(bias[c] / scales[c]), int.MinValue, int.MaxValue);
                }
                var stem = node.Input[2] + "_" + node.Name;
                var qName = OnnxNodes.UniqueName(used, stem + "_quantized");
                var scaleName = OnnxNodes.UniqueName(used, stem + "_scale");
                var zpName = OnnxNodes.UniqueName(used, stem + "_zero_point");
                var dqName = OnnxNodes.UniqueName(used, stem + "_dequantized");
                graph.Initializer.Add(OnnxTensorData.Int32(qName, [bias.Length], quantized));
                graph.Initializer.Add(OnnxTensorData.Float(scaleName, [scales.Length], scales));
                graph.Initializer.Add(OnnxTensorData.Int32(zpName, [scales.Length], new int[scales.Length]));
                prefix.Add(OnnxNodes.Create("DequantizeLinear", OnnxNodes.UniqueName(used, stem + "_DequantizeLinear"),
                    [qName, scaleName, zpName], [dqName], OnnxAttributes.Int("axis", 0)));
                node.Input[2] = dqName;
                biasCount++;
            }
        }

        var nodes = new List<NodeProto>(prefix);
        foreach (var node in graph.Node.Where(n => !removedRelus.Contains(n)))
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (dequantized.TryGetValue(node.Input[i], out var dq))
                {
                    node.Input[i] = dq;
                }
            }
            nodes.Add(node);
            foreach (var output in node.Output)
            {
                if (after.TryGetValue(output, out var pair))
                {
                    nodes.AddRange(pair);
                }
            }
        }
        graph.Node.Clear();
        graph.Node.Add(nodes);
        ModelPreparation.RemoveUnusedInitializers(graph);
        OnnxModelFile.Stamp(model, $"quantize --int8 ({options.Method}, {options.Activations})");
        return new QuantizationResult(model, weightScales.Count, biasCount, own.Count + shared.Count, foldedBatchNorms, foldedRelus.Count, ranges);
    }

    /// <summary>The output-channel axis of the node's weight input (index 1) when it is an FP32 initializer the
    /// quantizer handles per channel; null otherwise.</summary>
    private static int? WeightAxis(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var w) || w.DataType != (int)ElementType.Float)
        {
            return null;
        }
        return node.OpType switch
        {
            "Conv" when w.Dims.Count >= 3 => 0,
            "Gemm" when w.Dims.Count == 2 && OnnxNodes.IntAttribute(node, "transA", 0) == 0 => OnnxNodes.IntAttribute(node, "transB", 0) == 1 ? 0 : 1,
            "MatMul" when w.Dims.Count == 2 => 1,
            _ => null,
        };
    }
}
