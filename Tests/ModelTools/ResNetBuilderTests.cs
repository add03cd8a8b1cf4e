using Inference.Server.ModelTools;
using Inference.Server.Protos.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Inference.Tests.ModelTools;

public sealed class ResNetBuilderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    internal static float[] Image(int batch, int size, int seed)
    {
        var random = new DeterministicRandom((ulong)seed);
        var values = new float[batch * 3 * size * size];
        random.FillUniform(values, 1f);
        return values;
    }

    internal static float[] Run(InferenceSession session, float[] input, int batch, int size)
    {
        using var x = OrtValue.CreateTensorValueFromMemory(input, [batch, 3, size, size]);
        using var options = new RunOptions();
        using var results = session.Run(options, ["input"], [x], ["logits"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void Tiny_IsSmallAndRunsInOnnxRuntimeWithFiniteInputDependentLogits()
    {
        var path = _temp.Combine("tiny.onnx");
        var info = ResNetBuilder.Write(path, ResNetOptions.Tiny);

        Assert.True(new FileInfo(path).Length < 1_000_000, $"tiny model is {new FileInfo(path).Length} bytes");
        Assert.Equal(53, info.ConvolutionCount); // 1 stem + 16 blocks × 3 + 4 projections, as in ResNet-50
        using var session = new InferenceSession(path);
        var a = Run(session, Image(2, 64, 1), 2, 64);
        var b = Run(session, Image(1, 64, 2), 1, 64);

        Assert.Equal(20, a.Length);
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(a[..10], a[10..]);
        Assert.NotEqual(a[..10], b);
    }

    [Fact]
    public void Write_SameOptions_ProducesIdenticalBytes_OtherSeedDiffers()
    {
        ResNetBuilder.Write(_temp.Combine("a.onnx"), ResNetOptions.Tiny);
        ResNetBuilder.Write(_temp.Combine("b.onnx"), ResNetOptions.Tiny);
        ResNetBuilder.Write(_temp.Combine("c.onnx"), ResNetOptions.Tiny with { Seed = 7 });

        var a = File.ReadAllBytes(_temp.Combine("a.onnx"));
        Assert.Equal(a, File.ReadAllBytes(_temp.Combine("b.onnx")));
        Assert.NotEqual(a, File.ReadAllBytes(_temp.Combine("c.onnx")));
    }

    [Fact]
    public void Write_FileParameterCountMatchesItsInitializers()
    {
        var path = _temp.Combine("tiny.onnx");
        var info = ResNetBuilder.Write(path, ResNetOptions.Tiny);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var stored = model.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (p, d) => p * d));
        Assert.Equal(info.FileParameterCount, stored);
        Assert.All(model.Graph.Initializer, t => Assert.Equal(t.Dims.Aggregate(4L, (p, d) => p * d), t.RawData.Length));
    }

    [Fact]
    public void Summary_IsOneReadableLine_WithTheCounts()
    {
        var info = ResNetBuilder.Write(_temp.Combine("summary.onnx"), ResNetOptions.Tiny);

        Assert.DoesNotContain("ResNetModelInfo {", info.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", info.Summary, StringComparison.Ordinal);
        Assert.Contains($"{info.ConvolutionCount} convolutions, {info.NodeCount} nodes", info.Summary, StringComparison.Ordinal);
        Assert.Contains(info.FileParameterCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " parameters in the file", info.Summary, StringComparison.Ordinal);
    }
}
