using Inference.Server.Backends.CudnnGraph.Fusion;
using Inference.Server.Backends.CudnnGraph.Graph;
using ElementType = Inference.Server.Protos.Onnx.TensorProto.Types.DataType;

namespace Inference.Tests.Backends.CudnnGraph;

/// <summary>
/// Runs a <see cref="FusedNetwork"/> on the CPU in FP32 with plain loops, step by step as the engine will (NCHW here;
/// FP16 casts round to half precision): the check that import and fusion kept the model's meaning, against ONNX
/// Runtime on the same inputs. Slow on purpose: nothing clever to get wrong.
/// </summary>
internal static class ReferenceExecutor
{
    public static Dictionary<string, float[]> Run(FusedNetwork network, IReadOnlyDictionary<string, float[]> inputs, int batch)
    {
        var values = new Dictionary<string, float[]>(inputs, StringComparer.Ordinal);
        foreach (var step in network.Steps)
        {
            var shape = network.Tensors[step.Output].Shape;
            values[step.Output] = step switch
            {
                ConvBlockStep b => ConvBlock(b, values, network.Tensors[b.Conv.Input].Shape, shape, batch),
                AffineStep a => Affine(a.Affine, values[a.Affine.Input], network.Tensors[a.Affine.Input].Shape),
                FakeQuantStep q => [.. values[q.Quantize.Input].Select(v => Dequantize(Quantize(v, q.Quantize), q.Dequantize))],
                SingleStep s => Single(s.Op, values, network.Tensors, shape, batch),
                _ => throw new InvalidOperationException(step.GetType().Name),
            };
        }
        return network.Outputs.ToDictionary(o => o.Name, o => values[o.Name], StringComparer.Ordinal);
    }

    private static float[] ConvBlock(ConvBlockStep block, Dictionary<string, float[]> values, IReadOnlyList<int> inShape, IReadOnlyList<int> outShape, int batch)
    {
        var g = block.Conv.Geometry;
        var x = values[block.Conv.Input];
        var (ih, iw, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2]);
        var y = new float[batch * g.OutChannels * oh * ow];
        var residual = block.Residual is null ? null : values[block.Residual];
        for (var n = 0; n < batch; n++)
        {
            for (var o = 0; o < g.OutChannels; o++)
            {
                for (var oy = 0; oy < oh; oy++)
                {
                    for (var ox = 0; ox < ow; ox++)
                    {
                        var sum = block.Conv.Bias[o];
                        for (var c = 0; c < g.InChannels; c++)
                        {
                            for (var ky = 0; ky < g.KernelH; ky++)
                            {
                                var yy = oy * g.StrideH - g.PadTop + ky * g.DilationH;
                                if (yy < 0 || yy >= ih)
                                {
                                    continue;
                                }
                                for (var kx = 0; kx < g.KernelW; kx++)
                                {
                                    var xx = ox * g.StrideW - g.PadLeft + kx * g.DilationW;
                                    if (xx < 0 || xx >= iw)
                                    {
                                        continue;
                                    }
                                    sum += x[((n * g.InChannels + c) * ih + yy) * iw + xx] * block.Conv.Weight[((o * g.InChannels + c) * g.KernelH + ky) * g.KernelW + kx];
                                }
                            }
                        }
                        var at = ((n * g.OutChannels + o) * oh + oy) * ow + ox;
                        if (residual is not null)
                        {
                            sum += residual[at];
                        }
                        y[at] = block.Relu ? MathF.Max(sum, 0) : sum;
                    }
                }
            }
        }
        return y;
    }

    /// <summary>ONNX QuantizeLinear: round half to even, add the zero point, saturate to the type.</summary>
    private static float Quantize(float x, QuantizeOp q)
    {
        var (low, high) = q.To == ElementType.Int8 ? (-128f, 127f) : (0f, 255f);
        return Math.Clamp(MathF.Round(x / q.Scale, MidpointRounding.ToEven) + q.ZeroPoint, low, high);
    }

    private static float Dequantize(float q, DequantizeOp dq) => (q - dq.ZeroPoint) * dq.Scale;

    private static float[] Affine(ChannelAffineOp op, float[] x, IReadOnlyList<int> shape)
    {
        var channels = shape[0];
        var inner = shape.Skip(1).Aggregate(1, (p, d) => p * d);
        var y = new float[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var c = i / inner % channels;
            y[i] = x[i] * op.Scale[c] + op.Shift[c];
        }
        return y;
    }

    private static float[] Single(NetworkOp op, Dictionary<string, float[]> values, IReadOnlyDictionary<string, NetworkTensor> tensors, IReadOnlyList<int> outShape, int batch)
    {
        var x = values[op.Inputs[0]];
        var inShape = tensors[op.Inputs[0]].Shape;
        switch (op)
        {
            case ReluOp:
                return [.. x.Select(v => MathF.Max(v, 0))];
            case AddOp add:
                var b = values[add.B];
                return [.. x.Select((v, i) => v + b[i])];
            case FlattenOp:
                return x;
            case CastOp cast:
                return cast.To == ElementType.Float16 ? [.. x.Select(v => (float)(Half)v)] : x;
            case QuantizeOp q:
                return [.. x.Select(v => Quantize(v, q))];
            case DequantizeOp dq:
                return [.. x.Select(v => Dequantize(v, dq))];
            case NhwcToNchwOp:
                {
                    var (h, w, c) = (inShape[0], inShape[1], inShape[2]);
                    var y = new float[x.Length];
                    for (var n = 0; n < batch; n++)
                    {
                        for (var yy = 0; yy < h; yy++)
                        {
                            for (var xx = 0; xx < w; xx++)
                            {
                                for (var ch = 0; ch < c; ch++)
                                {
                                    y[((n * c + ch) * h + yy) * w + xx] = x[((n * h + yy) * w + xx) * c + ch];
                                }
                            }
                        }
                    }
                    return y;
                }
            case MaxPoolOp pool:
                {
                    var g = pool.Geometry;
                    var (c, ih, iw, oh, ow) = (inShape[0], inShape[1], inShape[2], outShape[1], outShape[2]);
                    var y = new float[batch * c * oh * ow];
                    for (var n = 0; n < batch; n++)
                    {
                        for (var ch = 0; ch < c; ch++)
                        {
                            for (var oy = 0; oy < oh; oy++)
                            {
                                for (var ox = 0; ox < ow; ox++)
                                {
                                    var best = float.NegativeInfinity;
                                    for (var ky = 0; ky < g.KernelH; ky++)
                                    {
                                        for (var kx = 0; kx < g.KernelW; kx++)
                                        {
                                            var (yy, xx) = (oy * g.StrideH - g.PadTop + ky, ox * g.StrideW - g.PadLeft + kx);
                                            if (yy >= 0 && yy < ih && xx >= 0 && xx < iw)
                                            {
                                                best = MathF.Max(best, x[((n * c + ch) * ih + yy) * iw + xx]);
                                            }
                                        }
                                    }
                                    y[((n * c + ch) * oh + oy) * ow + ox] = best;
                                }
                            }
                        }
                    }
                    return y;
                }
            case GlobalAveragePoolOp:
                {
                    var (c, area) = (inShape[0], inShape[1] * inShape[2]);
                    var y = new float[batch * c];
                    for (var i = 0; i < y.Length; i++)
                    {
                        var sum = 0.0;
                        for (var k = 0; k < area; k++)
                        {
                            sum += x[i * area + k];
                        }
                        y[i] = (float)(sum / area);
                    }
                    return y;
                }
            case GemmOp gemm:
                {
                    var y = new float[batch * gemm.OutFeatures];
                    for (var n = 0; n < batch; n++)
                    {
                        for (var o = 0; o < gemm.OutFeatures; o++)
                        {
                            var sum = gemm.Bias[o];
                            for (var i = 0; i < gemm.InFeatures; i++)
                            {
                                sum += x[n * gemm.InFeatures + i] * gemm.Weight[o * gemm.InFeatures + i];
                            }
                            y[n * gemm.OutFeatures + o] = sum;
                        }
                    }
                    return y;
                }
            default:
                throw new InvalidOperationException($"no reference for {op.Kind}");
        }
    }
}
