using System.Globalization;
using Inference.Server.Backends.CudnnGraph.Graph;
using Inference.Server.Backends.CudnnGraph.Layout;

namespace Inference.Server.Backends.CudnnGraph.Fusion;

/// <summary>
/// The canonical text of a fused layer at one batch size, as the plan cache keys it: everything that decides which
/// cuDNN plan is fastest (shapes, geometry, layout, precision, the fused pattern) and nothing else (not the weights,
/// not the layer's name). Layers that share it are timed once: ResNet-50's 53 convolutions are fewer shapes.
/// </summary>
public static class OperationText
{
    public static string For(ConvBlockStep block, IReadOnlyList<int> inputShape, int batch)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(inputShape);
        var g = block.Conv.Geometry;
        var (h, w) = (inputShape[1], inputShape[2]);
        return string.Create(CultureInfo.InvariantCulture,
            $"{block.Pattern} n{batch} c{ChannelAlignment.Pad(g.InChannels)}>{ChannelAlignment.Pad(g.OutChannels)} " +
            $"{h}x{w}>{g.OutputHeight(h)}x{g.OutputWidth(w)} k{g.KernelH}x{g.KernelW} s{g.StrideH}x{g.StrideW} " +
            $"p{g.PadTop},{g.PadLeft},{g.PadBottom},{g.PadRight} d{g.DilationH}x{g.DilationW} nhwc fp16");
    }
}
