using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.Repository;

namespace Inference.Tests.ModelTools;

public sealed class ImageSinkModelBuilderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Model_TakesResNetSizedPixels_AndAnswersTheFirstRowsChannelMeansTimesItsMatrix()
    {
        var folder = ImageSinkModelBuilder.Write(_temp.Path, instances: 2);
        var pixels = new byte[2 * 224 * 224 * 3];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i * 31 % 251);
        }

        using var session = OnnxRunner.CreateSession(Path.Combine(folder, "1", "model.onnx"));
        var logits = OnnxRunner.Run(session, ImageSinkModelBuilder.InputName, pixels, [2, 224, 224, 3], ImageSinkModelBuilder.OutputName);

        Assert.Equal(2 * 1000, logits.Length);
        for (var n = 0; n < 2; n++)
        {
            var mean = new double[3];
            for (var x = 0; x < 224; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    mean[c] += pixels[n * 224 * 224 * 3 + x * 3 + c] / 224.0;
                }
            }
            foreach (var k in new[] { 0, 1, 499, 999 })
            {
                var expected = Enumerable.Range(0, 3).Sum(c => mean[c] * ((c * 1000 + k) % 7 - 3) / 3.0);
                Assert.Equal(expected, logits[n * 1000 + k], 0.01);
            }
        }
    }

    [Fact]
    public void Config_IsValidTritonConfig_WithTheWireShapeOfResNet50sUint8Variant()
    {
        var folder = ImageSinkModelBuilder.Write(_temp.Path, name: "sink", maxBatchSize: 128, instances: 3);

        var config = PbtxtParser.ParseModelConfig(File.ReadAllText(Path.Combine(folder, "config.pbtxt")), "config.pbtxt");

        Assert.True(config.IsSuccess, config.Error?.Message);
        var c = config.Value!;
        Assert.Equal(("sink", 128), (c.Name, c.MaxBatchSize));
        Assert.Equal([224L, 224L, 3L], c.Input[0].Dims);
        Assert.Equal(Inference.Server.Protos.DataType.TypeUint8, c.Input[0].DataType);
        Assert.Equal([1000L], c.Output[0].Dims);
        Assert.Equal(3, c.InstanceGroup[0].Count);
        Assert.NotNull(c.DynamicBatching);
    }
}
