using Inference.Server.Backends.CudnnGraph.Fusion;
using Inference.Server.Backends.CudnnGraph.Graph;
using Inference.Server.Backends.CudnnGraph.Import;
using Inference.Server.Backends.CudnnGraph.Layout;
using Inference.Server.ModelTools.Onnx;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Backends.CudnnGraph;

public sealed class LayoutTests
{
    private static readonly ConvGeometry Geometry = new(3, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1);

    [Fact]
    public void Filter_GoesFromOihwToKrsc_WithPaddedInChannelsLeftZero()
    {
        // weight[o, c, r, s] = 1000 o + 100 c + 10 r + s: each packed value says where it came from.
        var weight = new float[2 * 3 * 2 * 2];
        for (var o = 0; o < 2; o++)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var r = 0; r < 2; r++)
                {
                    for (var s = 0; s < 2; s++)
                    {
                        weight[((o * 3 + c) * 2 + r) * 2 + s] = 1000 * o + 100 * c + 10 * r + s;
                    }
                }
            }
        }
        var conv = new ConvOp("c", "x", "y", Geometry, weight, new float[2]);

        var packed = FilterPacking.ToKrsc(conv, ChannelAlignment.Pad(3));

        Assert.Equal(2 * 2 * 2 * 8, packed.Length);
        Assert.Equal(1000 + 100 * 2 + 10 * 1 + 0, (float)packed[((1 * 2 + 1) * 2 + 0) * 8 + 2]); // k=1, r=1, s=0, c=2
        Assert.Equal(0 + 100 * 1 + 0 + 1, (float)packed[((0 * 2 + 0) * 2 + 1) * 8 + 1]);         // k=0, r=0, s=1, c=1
        Assert.All(Enumerable.Range(0, packed.Length).Where(i => i % 8 >= 3), i => Assert.Equal(0f, (float)packed[i]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterPacking.ToKrsc(conv, 2));
    }

    [Theory]
    [InlineData(3, 8)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    [InlineData(2048, 2048)]
    public void Channels_ArePaddedToMultiplesOfEight(int channels, int padded) =>
        Assert.Equal(padded, ChannelAlignment.Pad(channels));

    [Fact]
    public void OperationText_IsSharedByLayersOfOneShape_AndTellsDifferentShapesApart()
    {
        using var temp = new TempDirectory();
        var network = FusionPlanner.Plan(OnnxNetworkImporter.Import(OnnxModelFile.Load(ModelToolsTestModels.WriteTinyResNet(temp))).Graph!);
        var blocks = network.Steps.OfType<ConvBlockStep>().ToList();

        var texts = blocks.Select(b => OperationText.For(b, network.Tensors[b.Conv.Input].Shape, 32)).ToList();

        Assert.Equal("conv+bias+relu n32 c8>8 64x64>32x32 k7x7 s2x2 p3,3,3,3 d1x1 nhwc fp16", texts[0]);
        // Repeated bottlenecks share their texts: far fewer distinct layers to time than convolutions.
        var distinct = texts.Distinct().Count();
        Assert.InRange(distinct, 10, 30);
        // The batch size is part of the key (plans are per shape), the weights are not.
        Assert.NotEqual(texts[0], OperationText.For(blocks[0], network.Tensors[blocks[0].Conv.Input].Shape, 1));
        var reweighted = blocks[0] with { Conv = blocks[0].Conv with { Weight = new float[blocks[0].Conv.Weight.Length] } };
        Assert.Equal(texts[0], OperationText.For(reweighted, network.Tensors[reweighted.Conv.Input].Shape, 32));
    }
}
