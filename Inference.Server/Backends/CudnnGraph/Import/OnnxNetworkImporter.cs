using Inference.Server.Backends.CudnnGraph.Graph;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos.Onnx;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Server.Backends.CudnnGraph.Import;

/// <summary>
/// Reads an ONNX model into a <see cref="NetworkGraph"/>: Conv (group 1), BatchNormalization, Relu, Add (two
/// activations: a residual; one constant: a shift), Mul by a constant, MaxPool, GlobalAveragePool, ReduceMean over
/// the image dimensions, Flatten, Reshape to [batch, features], Gemm, MatMul by a constant, Cast, Transpose from
/// NHWC to NCHW, Identity and Dropout (dropped), Constant, and QDQ: DequantizeLinear of a constant folded into FP32
/// weights, QuantizeLinear and DequantizeLinear of activations per tensor. Every graph input is [batch, ...] with the other dimensions
/// fixed. Anything else fails the import with the node, its operator and the reason: the engine never guesses.
/// Weights are read as FP32 whatever the model stored (FP16 models included).
/// </summary>
public static class OnnxNetworkImporter
{
    public static NetworkImport Import(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return NetworkImport.Ok(new Reader(model.Graph).Read());
        }
        catch (UnsupportedException e)
        {
            return NetworkImport.Fail(e.Message);
        }
    }

    private sealed class UnsupportedException(string message) : Exception(message);

    private sealed class Reader(GraphProto graph)
    {
        private readonly Dictionary<string, TensorProto> _constants = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        private readonly Dictionary<string, NetworkTensor> _tensors = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
        private readonly List<NetworkOp> _ops = [];

        public NetworkGraph Read()
        {
            var inputs = graph.Input.Where(i => !_constants.ContainsKey(i.Name)).Select(ReadInput).ToList();
            if (inputs.Count == 0)
            {
                throw new UnsupportedException("the graph has no input that is not an initializer");
            }
            foreach (var input in inputs)
            {
                _tensors[input.Name] = input;
            }
            foreach (var node in graph.Node)
            {
                ReadNode(node);
            }
            var outputs = new List<NetworkTensor>();
            foreach (var output in graph.Output)
            {
                var source = Resolve(output.Name);
                if (!_tensors.TryGetValue(source, out var tensor))
                {
                    throw new UnsupportedException($"graph output '{output.Name}' is not computed from the inputs");
                }
                if (source != output.Name)
                {
                    // An output that is an alias (Identity) of another tensor: the engine writes it under the output's name.
                    throw new UnsupportedException($"graph output '{output.Name}' is only an alias of '{source}'");
                }
                outputs.Add(tensor);
            }
            return new NetworkGraph(inputs, outputs, _ops, _tensors);
        }

        private static NetworkTensor ReadInput(ValueInfoProto input)
        {
            var type = input.Type?.TensorType ?? throw new UnsupportedException($"input '{input.Name}' is not a tensor");
            var dims = type.Shape?.Dim ?? throw new UnsupportedException($"input '{input.Name}' has no shape");
            if (dims.Count < 2)
            {
                throw new UnsupportedException($"input '{input.Name}' has {dims.Count} dimension(s); the engine needs [batch, ...]");
            }
            var shape = new List<int>();
            foreach (var d in dims.Skip(1))
            {
                if (d.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || d.DimValue <= 0)
                {
                    throw new UnsupportedException($"input '{input.Name}' has a dimension after the batch that is not a fixed size");
                }
                shape.Add(checked((int)d.DimValue));
            }
            return new NetworkTensor(input.Name, shape, (ElementType)type.ElemType);
        }

        private string Resolve(string name) => _aliases.TryGetValue(name, out var target) ? target : name;

        private NetworkTensor Activation(NodeProto node, int index)
        {
            if (index >= node.Input.Count || node.Input[index].Length == 0)
            {
                throw Unsupported(node, $"input {index} is missing");
            }
            var name = Resolve(node.Input[index]);
            return _tensors.TryGetValue(name, out var t) ? t : throw Unsupported(node, $"input '{node.Input[index]}' is not an activation computed before it");
        }

        private float[] Constant(NodeProto node, int index, string what)
        {
            if (index >= node.Input.Count || node.Input[index].Length == 0)
            {
                throw Unsupported(node, $"{what} is missing");
            }
            if (!_constants.TryGetValue(node.Input[index], out var tensor))
            {
                throw Unsupported(node, $"{what} '{node.Input[index]}' is not a constant");
            }
            return Read(node, () => OnnxTensorData.ReadFloats(tensor));
        }

        private bool IsConstant(NodeProto node, int index) => index < node.Input.Count && _constants.ContainsKey(node.Input[index]);

        private static UnsupportedException Unsupported(NodeProto node, string reason) =>
            new($"node '{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault())}' ({node.OpType}): {reason}");

        private void Add(NetworkOp op, IReadOnlyList<int> shape, ElementType type)
        {
            if (_tensors.ContainsKey(op.Output))
            {
                throw new UnsupportedException($"tensor '{op.Output}' is written twice");
            }
            _tensors[op.Output] = new NetworkTensor(op.Output, shape, type);
            _ops.Add(op);
        }

        private void ReadNode(NodeProto node)
        {
            if (node.Domain.Length > 0 && node.Domain != "ai.onnx")
            {
                throw Unsupported(node, $"operator domain '{node.Domain}' is not the default one");
            }
            if (node.Output.Count == 0)
            {
                throw Unsupported(node, "it has no output");
            }
            var name = node.Name.Length > 0 ? node.Name : node.Output[0];
            var output = node.Output[0];
            switch (node.OpType)
            {
                case "Constant":
                    var value = node.Attribute.FirstOrDefault(a => a.Name == "value")?.T ?? throw Unsupported(node, "only a 'value' tensor constant is taken");
                    _constants[output] = value;
                    return;
                case "Identity":
                case "Dropout":
                    if (node.Output.Count > 1 && node.Output[1].Length > 0)
                    {
                        throw Unsupported(node, "its mask output is used");
                    }
                    if (IsConstant(node, 0))
                    {
                        _constants[output] = _constants[node.Input[0]];
                        return;
                    }
                    _aliases[output] = Resolve(Activation(node, 0).Name);
                    return;
                case "Conv":
                    ReadConv(node, name, output);
                    return;
                case "BatchNormalization":
                    ReadBatchNorm(node, name, output);
                    return;
                case "Relu":
                    {
                        var x = Activation(node, 0);
                        Add(new ReluOp(name, x.Name, output), x.Shape, x.Type);
                        return;
                    }
                case "Add":
                case "Mul":
                    ReadBinary(node, name, output);
                    return;
                case "MaxPool":
                    ReadMaxPool(node, name, output);
                    return;
                case "GlobalAveragePool":
                    {
                        var x = Image(node);
                        Add(new GlobalAveragePoolOp(name, x.Name, output, KeepDims: true), [x.Shape[0], 1, 1], x.Type);
                        return;
                    }
                case "ReduceMean":
                    ReadReduceMean(node, name, output);
                    return;
                case "Flatten":
                    {
                        var x = Activation(node, 0);
                        if (Int(node, "axis", 1) != 1)
                        {
                            throw Unsupported(node, "only axis 1 (keep the batch) is taken");
                        }
                        Add(new FlattenOp(name, x.Name, output), [checked((int)x.Elements)], x.Type);
                        return;
                    }
                case "Reshape":
                    ReadReshape(node, name, output);
                    return;
                case "Gemm":
                    ReadGemm(node, name, output);
                    return;
                case "MatMul":
                    ReadMatMul(node, name, output);
                    return;
                case "Cast":
                    {
                        var x = Activation(node, 0);
                        var to = (ElementType)Int(node, "to", 0);
                        if (to is not (ElementType.Float or ElementType.Float16))
                        {
                            throw Unsupported(node, $"a cast to {to} is not taken (only to FLOAT or FLOAT16)");
                        }
                        Add(new CastOp(name, x.Name, output, to), x.Shape, to);
                        return;
                    }
                case "Transpose":
                    {
                        var x = Activation(node, 0);
                        var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray() ?? [];
                        if (x.Shape.Count != 3 || !perm.SequenceEqual([0L, 3, 1, 2]))
                        {
                            throw Unsupported(node, $"only NHWC to NCHW (perm [0, 3, 1, 2]) is taken, not [{string.Join(", ", perm)}]");
                        }
                        Add(new NhwcToNchwOp(name, x.Name, output), [x.Shape[2], x.Shape[0], x.Shape[1]], x.Type);
                        return;
                    }
                case "QuantizeLinear":
                    ReadQuantize(node, name, output);
                    return;
                case "DequantizeLinear":
                    ReadDequantize(node, name, output);
                    return;
                default:
                    throw Unsupported(node, "the engine does not take this operator");
            }
        }

        private NetworkTensor Image(NodeProto node)
        {
            var x = Activation(node, 0);
            return x.Shape.Count == 3 ? x : throw Unsupported(node, $"input '{x.Name}' is not an image [C, H, W] per sample");
        }

        private void ReadConv(NodeProto node, string name, string output)
        {
            var x = Image(node);
            var weight = Constant(node, 1, "weight");
            var wDims = _constants[node.Input[1]].Dims;
            if (wDims.Count != 4)
            {
                throw Unsupported(node, "only 2-D convolutions are taken");
            }
            if (Int(node, "group", 1) != 1)
            {
                throw Unsupported(node, "grouped convolutions are not taken");
            }
            var (outC, inC, kh, kw) = ((int)wDims[0], (int)wDims[1], (int)wDims[2], (int)wDims[3]);
            if (inC != x.Shape[0])
            {
                throw Unsupported(node, $"the weight takes {inC} channels, the input has {x.Shape[0]}");
            }
            var bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? Constant(node, 2, "bias") : new float[outC];
            if (bias.Length != outC)
            {
                throw Unsupported(node, $"the bias has {bias.Length} values for {outC} output channels");
            }
            var strides = Ints(node, "strides", 1, 1);
            var dilations = Ints(node, "dilations", 1, 1);
            var pads = Pads(node, x, kh, kw, strides, dilations);
            var g = new ConvGeometry(inC, outC, kh, kw, (int)strides[0], (int)strides[1], pads[0], pads[1], pads[2], pads[3], (int)dilations[0], (int)dilations[1]);
            var (oh, ow) = (g.OutputHeight(x.Shape[1]), g.OutputWidth(x.Shape[2]));
            if (oh <= 0 || ow <= 0)
            {
                throw Unsupported(node, "its output would be empty");
            }
            Add(new ConvOp(name, x.Name, output, g, weight, bias), [outC, oh, ow], x.Type);
        }

        private int[] Pads(NodeProto node, NetworkTensor x, int kh, int kw, long[] strides, long[] dilations)
        {
            var autoPad = node.Attribute.FirstOrDefault(a => a.Name == "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
            switch (autoPad)
            {
                case "NOTSET" or "":
                    var pads = Ints(node, "pads", 0, 0, 0, 0);
                    return [(int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3]];
                case "VALID":
                    return [0, 0, 0, 0];
                case "SAME_UPPER" or "SAME_LOWER":
                    int[] result = new int[4];
                    for (var axis = 0; axis < 2; axis++)
                    {
                        var size = x.Shape[1 + axis];
                        var stride = (int)strides[axis];
                        var extent = (int)dilations[axis] * ((axis == 0 ? kh : kw) - 1) + 1;
                        var outSize = (size + stride - 1) / stride;
                        var total = Math.Max(0, (outSize - 1) * stride + extent - size);
                        var small = total / 2;
                        var (begin, end) = autoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
                        result[axis] = begin;
                        result[2 + axis] = end;
                    }
                    return result;
                default:
                    throw Unsupported(node, $"auto_pad '{autoPad}' is not taken");
            }
        }

        private void ReadBatchNorm(NodeProto node, string name, string output)
        {
            var x = Activation(node, 0);
            if (node.Output.Count > 1 && node.Output.Skip(1).Any(o => o.Length > 0))
            {
                throw Unsupported(node, "training outputs (running mean and variance) are not taken");
            }
            var (gamma, beta, mean, variance) = (Constant(node, 1, "scale"), Constant(node, 2, "bias"), Constant(node, 3, "mean"), Constant(node, 4, "variance"));
            var channels = x.Shape[0];
            if (new[] { gamma, beta, mean, variance }.Any(v => v.Length != channels))
            {
                throw Unsupported(node, $"its parameters are not one value per channel ({channels})");
            }
            var epsilon = node.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            var scale = new float[channels];
            var shift = new float[channels];
            for (var c = 0; c < channels; c++)
            {
                scale[c] = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
                shift[c] = beta[c] - mean[c] * scale[c];
            }
            Add(new ChannelAffineOp(name, x.Name, output, scale, shift), x.Shape, x.Type);
        }

        private void ReadBinary(NodeProto node, string name, string output)
        {
            var isMul = node.OpType == "Mul";
            var (left, right) = (IsConstant(node, 0), IsConstant(node, 1));
            if (!left && !right)
            {
                var (a, b) = (Activation(node, 0), Activation(node, 1));
                if (isMul)
                {
                    throw Unsupported(node, "a product of two activations is not taken");
                }
                if (!a.Shape.SequenceEqual(b.Shape))
                {
                    throw Unsupported(node, $"it broadcasts [{string.Join(", ", a.Shape)}] with [{string.Join(", ", b.Shape)}]; only equal shapes are taken");
                }
                Add(new AddOp(name, a.Name, b.Name, output), a.Shape, a.Type);
                return;
            }
            if (left && right)
            {
                throw Unsupported(node, "both operands are constants (fold them first)");
            }
            var x = Activation(node, left ? 1 : 0);
            var constant = Constant(node, left ? 0 : 1, "the constant operand");
            var dims = _constants[node.Input[left ? 0 : 1]].Dims.ToArray();
            var channels = x.Shape[0];
            // A scalar, or one value per channel laid out to broadcast over the rest ([C, 1, 1], [1, C, 1, 1], [C] for features).
            var significant = dims.SkipWhile(d => d == 1).ToArray();
            var perChannel = constant.Length == channels
                && (x.Shape.Count == 3 ? significant.SequenceEqual([channels, 1L, 1L]) : significant.SequenceEqual([(long)channels]));
            if (constant.Length != 1 && !perChannel)
            {
                throw Unsupported(node, $"its constant of shape [{string.Join(", ", dims)}] is neither a scalar nor one value per channel");
            }
            var values = constant.Length == 1 ? Enumerable.Repeat(constant[0], channels).ToArray() : constant;
            var scale = isMul ? values : Enumerable.Repeat(1f, channels).ToArray();
            var shift = isMul ? new float[channels] : values;
            Add(new ChannelAffineOp(name, x.Name, output, scale, shift), x.Shape, x.Type);
        }

        private void ReadMaxPool(NodeProto node, string name, string output)
        {
            var x = Image(node);
            if (node.Output.Count > 1 && node.Output[1].Length > 0)
            {
                throw Unsupported(node, "its indices output is not taken");
            }
            if (Int(node, "ceil_mode", 0) != 0 || Ints(node, "dilations", 1, 1).Any(d => d != 1) || Int(node, "storage_order", 0) != 0)
            {
                throw Unsupported(node, "ceil_mode, dilations and storage_order are taken only at their defaults");
            }
            var kernel = Ints(node, "kernel_shape");
            if (kernel.Length != 2)
            {
                throw Unsupported(node, "only 2-D pooling is taken");
            }
            var strides = Ints(node, "strides", 1, 1);
            var pads = Pads(node, x, (int)kernel[0], (int)kernel[1], strides, [1, 1]);
            var g = new PoolGeometry((int)kernel[0], (int)kernel[1], (int)strides[0], (int)strides[1], pads[0], pads[1], pads[2], pads[3]);
            Add(new MaxPoolOp(name, x.Name, output, g), [x.Shape[0], g.OutputHeight(x.Shape[1]), g.OutputWidth(x.Shape[2])], x.Type);
        }

        private void ReadReduceMean(NodeProto node, string name, string output)
        {
            var x = Image(node);
            var axes = node.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints.ToArray()
                ?? (IsConstant(node, 1) ? Int64s(node, 1) : []);
            var keep = Int(node, "keepdims", 1) != 0;
            if (!axes.Order().SequenceEqual([2L, 3]) && !axes.Order().SequenceEqual([-2L, -1]))
            {
                throw Unsupported(node, $"only the mean over the image dimensions (axes [2, 3]) is taken, not [{string.Join(", ", axes)}]");
            }
            Add(new GlobalAveragePoolOp(name, x.Name, output, keep), keep ? [x.Shape[0], 1, 1] : [x.Shape[0]], x.Type);
        }

        private void ReadReshape(NodeProto node, string name, string output)
        {
            var x = Activation(node, 0);
            var shape = IsConstant(node, 1) ? Int64s(node, 1) : throw Unsupported(node, "its shape is not a constant");
            var features = x.Elements;
            // [batch, features] in any of the spellings exporters use: [-1, F], [0, -1], [N, -1] (N the batch: not known here), [0, F].
            var flattens = shape.Length == 2 && (shape[1] == -1 || shape[1] == features) && (shape[0] is 0 or -1 || shape[1] == -1);
            if (!flattens)
            {
                throw Unsupported(node, $"only a reshape to [batch, {features}] is taken, not [{string.Join(", ", shape)}]");
            }
            Add(new FlattenOp(name, x.Name, output), [checked((int)features)], x.Type);
        }

        private void ReadGemm(NodeProto node, string name, string output)
        {
            var x = Activation(node, 0);
            if (x.Shape.Count != 1)
            {
                throw Unsupported(node, $"input '{x.Name}' is not [batch, features]");
            }
            if (Int(node, "transA", 0) != 0)
            {
                throw Unsupported(node, "transA is not taken");
            }
            var w = Constant(node, 1, "weight");
            var wDims = _constants[node.Input[1]].Dims;
            var transB = Int(node, "transB", 0) != 0;
            var (inF, outF) = transB ? ((int)wDims[1], (int)wDims[0]) : ((int)wDims[0], (int)wDims[1]);
            if (wDims.Count != 2 || inF != x.Shape[0])
            {
                throw Unsupported(node, $"the weight [{string.Join(", ", wDims)}] does not take {x.Shape[0]} features");
            }
            var alpha = node.Attribute.FirstOrDefault(a => a.Name == "alpha")?.F ?? 1f;
            var beta = node.Attribute.FirstOrDefault(a => a.Name == "beta")?.F ?? 1f;
            var weight = new float[outF * inF];
            for (var o = 0; o < outF; o++)
            {
                for (var i = 0; i < inF; i++)
                {
                    weight[o * inF + i] = alpha * (transB ? w[o * inF + i] : w[i * outF + o]);
                }
            }
            var bias = new float[outF];
            if (node.Input.Count > 2 && node.Input[2].Length > 0)
            {
                var c = Constant(node, 2, "bias");
                if (c.Length != outF && c.Length != 1)
                {
                    throw Unsupported(node, $"the bias has {c.Length} values for {outF} outputs");
                }
                for (var o = 0; o < outF; o++)
                {
                    bias[o] = beta * c[c.Length == 1 ? 0 : o];
                }
            }
            Add(new GemmOp(name, x.Name, output, inF, outF, weight, bias), [outF], x.Type);
        }

        private void ReadMatMul(NodeProto node, string name, string output)
        {
            var x = Activation(node, 0);
            var w = Constant(node, 1, "weight");
            var wDims = _constants[node.Input[1]].Dims;
            if (x.Shape.Count != 1 || wDims.Count != 2 || wDims[0] != x.Shape[0])
            {
                throw Unsupported(node, "only [batch, K] x [K, N] with a constant right operand is taken");
            }
            var (inF, outF) = ((int)wDims[0], (int)wDims[1]);
            var weight = new float[outF * inF];
            for (var o = 0; o < outF; o++)
            {
                for (var i = 0; i < inF; i++)
                {
                    weight[o * inF + i] = w[i * outF + o];
                }
            }
            Add(new GemmOp(name, x.Name, output, inF, outF, weight, new float[outF]), [outF], x.Type);
        }

        /// <summary>QuantizeLinear of an activation with one scale and zero point (QDQ models: our <c>quantize --int8</c>).</summary>
        private void ReadQuantize(NodeProto node, string name, string output)
        {
            var x = Activation(node, 0);
            var (scale, zeroPoint, type) = PerTensor(node);
            Add(new QuantizeOp(name, x.Name, output, scale, zeroPoint, type), x.Shape, type);
        }

        /// <summary>DequantizeLinear: of a constant (a quantized weight or bias), folded into FP32 values, per tensor
        /// or per channel along <c>axis</c>; of an activation, an operation with one scale and zero point.</summary>
        private void ReadDequantize(NodeProto node, string name, string output)
        {
            if (!IsConstant(node, 0))
            {
                var q = Activation(node, 0);
                var (scale, zeroPoint, _) = PerTensor(node);
                Add(new DequantizeOp(name, q.Name, output, scale, zeroPoint), q.Shape, ElementType.Float);
                return;
            }
            var tensor = _constants[node.Input[0]];
            var values = Integers(node, tensor);
            var scales = Constant(node, 1, "scale");
            var zeroPoints = node.Input.Count > 2 && node.Input[2].Length > 0 ? Integers(node, _constants.GetValueOrDefault(node.Input[2])
                ?? throw Unsupported(node, "its zero point is not a constant")) : new int[scales.Length];
            var dims = tensor.Dims.ToArray();
            var axis = (int)Int(node, "axis", 1);
            axis = axis < 0 ? axis + dims.Length : axis;
            var perAxis = scales.Length > 1;
            if (perAxis && (axis < 0 || axis >= dims.Length || dims[axis] != scales.Length) || zeroPoints.Length != scales.Length)
            {
                throw Unsupported(node, $"{scales.Length} scale(s) and {zeroPoints.Length} zero point(s) do not fit [{string.Join(", ", dims)}] along axis {axis}");
            }
            var inner = perAxis ? dims.Skip(axis + 1).Aggregate(1L, (p, d) => p * d) : 1;
            var floats = new float[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var c = perAxis ? (int)(i / inner % scales.Length) : 0;
                floats[i] = (values[i] - zeroPoints[c]) * scales[c];
            }
            _constants[output] = OnnxTensorData.Float(output, dims, floats);
        }

        private (float Scale, int ZeroPoint, ElementType Type) PerTensor(NodeProto node)
        {
            var scale = Constant(node, 1, "scale");
            if (scale.Length != 1)
            {
                throw Unsupported(node, "only one scale per activation tensor is taken");
            }
            if (node.Input.Count < 3 || node.Input[2].Length == 0)
            {
                return (scale[0], 0, ElementType.Uint8);
            }
            var zp = _constants.GetValueOrDefault(node.Input[2]) ?? throw Unsupported(node, "its zero point is not a constant");
            var type = (ElementType)zp.DataType;
            if (type is not (ElementType.Int8 or ElementType.Uint8))
            {
                throw Unsupported(node, $"activations are quantized to INT8 or UINT8 only, not {type}");
            }
            var values = Integers(node, zp);
            return values.Length == 1 ? (scale[0], values[0], type) : throw Unsupported(node, "only one zero point per activation tensor is taken");
        }

        /// <summary>The values of an INT8, UINT8 or INT32 constant.</summary>
        private static int[] Integers(NodeProto node, TensorProto tensor) => Read(node, () => OnnxTensorData.ReadIntegers(tensor));

        /// <summary>The values of the INT64 constant at input <paramref name="index"/> (a shape, axes).</summary>
        private long[] Int64s(NodeProto node, int index) => Read(node, () => OnnxTensorData.ReadInt64s(_constants[node.Input[index]]));

        /// <summary>A constant's values, a tensor the reader cannot read failing the import with the node named.</summary>
        private static T Read<T>(NodeProto node, Func<T> read)
        {
            try
            {
                return read();
            }
            catch (Inference.Server.ModelTools.ModelToolException e)
            {
                throw Unsupported(node, e.Message);
            }
        }

        private static long Int(NodeProto node, string attribute, long fallback) =>
            node.Attribute.FirstOrDefault(a => a.Name == attribute)?.I ?? fallback;

        private static long[] Ints(NodeProto node, string attribute, params long[] fallback) =>
            node.Attribute.FirstOrDefault(a => a.Name == attribute) is { } a ? [.. a.Ints] : fallback;
    }
}
