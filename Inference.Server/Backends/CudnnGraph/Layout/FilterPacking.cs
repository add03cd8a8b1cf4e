using Inference.Server.Backends.CudnnGraph.Graph;

namespace Inference.Server.Backends.CudnnGraph.Layout;

/// <summary>
/// A convolution's weights in the layouts the engine uploads: the filter as FP16 KRSC (out channel, kernel row,
/// kernel column, in channel: cuDNN's NHWC filter layout), in channels padded with zeros to
/// <see cref="ChannelAlignment"/>; the bias as FP16 [K]. The final layer's weight as FP16 [out, in] row-major for
/// cuBLASLt.
/// </summary>
public static class FilterPacking
{
    /// <summary>OIHW FP32 to KRSC FP16 with <paramref name="paddedInChannels"/> (at least the conv's) in channels.</summary>
    public static Half[] ToKrsc(ConvOp conv, int paddedInChannels)
    {
        ArgumentNullException.ThrowIfNull(conv);
        var g = conv.Geometry;
        if (paddedInChannels < g.InChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(paddedInChannels), $"{paddedInChannels} in channels cannot hold the conv's {g.InChannels}");
        }
        var packed = new Half[g.OutChannels * g.KernelH * g.KernelW * paddedInChannels];
        for (var k = 0; k < g.OutChannels; k++)
        {
            for (var r = 0; r < g.KernelH; r++)
            {
                for (var s = 0; s < g.KernelW; s++)
                {
                    for (var c = 0; c < g.InChannels; c++)
                    {
                        packed[((k * g.KernelH + r) * g.KernelW + s) * paddedInChannels + c] =
                            (Half)conv.Weight[((k * g.InChannels + c) * g.KernelH + r) * g.KernelW + s];
                    }
                }
            }
        }
        return packed;
    }

    public static Half[] ToHalf(float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var half = new Half[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            half[i] = (Half)values[i];
        }
        return half;
    }
}
