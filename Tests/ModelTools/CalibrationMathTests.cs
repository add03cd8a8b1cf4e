using Inference.Server.ModelTools;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.ModelTools.Quantization;
using Inference.Server.Protos.Onnx;

namespace Inference.Tests.ModelTools;

public sealed class CalibrationMathTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static float[] Uniform(int count, float bound, ulong seed)
    {
        var values = new float[count];
        new DeterministicRandom(seed).FillUniform(values, bound);
        return values;
    }

    private static float[] Gaussian(int count, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = Math.Max(random.NextSingle(), 1e-7f);
            var u2 = random.NextSingle();
            values[i] = MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(2f * MathF.PI * u2);
        }
        return values;
    }

    [Fact]
    public void Percentile_OfUniformValues_IsThatFractionOfTheRange()
    {
        var histogram = new AbsHistogram(2048, 4f);
        histogram.Add(Uniform(200_000, 4f, 1));

        Assert.Equal(3.96f, CalibrationMath.PercentileThreshold(histogram, 99), 0.02f);
        Assert.Equal(2.0f, CalibrationMath.PercentileThreshold(histogram, 50), 0.02f);
        Assert.Equal(4.0f, CalibrationMath.PercentileThreshold(histogram, 100), 0.001f);
    }

    [Fact]
    public void Percentile_OfAStandardNormal_Is99_99PercentAtAbout3Point9Sigma()
    {
        var values = Gaussian(400_000, 2);
        var histogram = new AbsHistogram(2048, values.Max(MathF.Abs));
        histogram.Add(values);

        Assert.Equal(3.89f, CalibrationMath.PercentileThreshold(histogram, 99.99), 0.15f);
    }

    [Fact]
    public void Entropy_OfAUniformDistribution_KeepsNearlyTheWholeRange()
    {
        var histogram = new AbsHistogram(2048, 1f);
        histogram.Add(Uniform(200_000, 1f, 3));

        Assert.True(CalibrationMath.EntropyThreshold(histogram) >= 0.95f);
    }

    [Fact]
    public void Entropy_OfANormalWithRareOutliers_ClipsTheOutliersButNotTheBulk()
    {
        var values = Gaussian(200_000, 4).Concat([40f, -35f, 38f]).ToArray();
        var histogram = new AbsHistogram(2048, 40f);
        histogram.Add(values);

        var threshold = CalibrationMath.EntropyThreshold(histogram);

        Assert.InRange(threshold, 2.5f, 10f);
    }

    [Fact]
    public void KlDivergence_KnownValues()
    {
        Assert.Equal(0, CalibrationMath.KlDivergence([1, 2, 3], [2, 4, 6]), 12);
        Assert.Equal(Math.Log(2), CalibrationMath.KlDivergence([1, 0], [0.5, 0.5]), 12);
        Assert.True(CalibrationMath.KlDivergence([1, 1], [1, 0]) > 3); // P where Q has (almost) no mass: 0.5 ln(0.5/1e-4) + 0.5 ln(0.5)
    }

    [Fact]
    public void QuantizationParameters_SymmetricAndAsymmetric_MapRealZeroExactly()
    {
        var symmetric = QuantizationParameters.From(new TensorRange(-2f, 1f), ActivationQuantization.Int8Symmetric);
        Assert.Equal((2f / 127f, 0, true), (symmetric.Scale, symmetric.ZeroPoint, symmetric.Signed));

        var unsigned = QuantizationParameters.From(new TensorRange(0f, 5.1f), ActivationQuantization.UInt8Asymmetric);
        Assert.Equal(0.02f, unsigned.Scale, 1e-7f);
        Assert.Equal((0, false), (unsigned.ZeroPoint, unsigned.Signed));

        var signed = QuantizationParameters.From(new TensorRange(-1f, 3f), ActivationQuantization.Int8Asymmetric);
        Assert.Equal(4f / 255f, signed.Scale, 1e-7f);
        Assert.Equal(-128 + 64, signed.ZeroPoint); // round(-128 + 1 / (4/255)) = -64

        Assert.Equal(1f, QuantizationParameters.From(new TensorRange(0, 0), ActivationQuantization.Int8Symmetric).Scale);
    }

    [Fact]
    public void QuantizeWeights_PerChannelScalesFollowEachChannelsMaximum()
    {
        // Two output channels of a [2, 1, 1, 3] conv weight.
        float[] weights = [0.5f, -1.27f, 0.1f, 2.54f, 0f, -1.3f];
        var (quantized, scales) = QuantizationParameters.QuantizeWeights(weights, [2, 1, 1, 3], 0);

        Assert.Equal(0.01f, scales[0], 1e-7f);
        Assert.Equal(0.02f, scales[1], 1e-7f);
        Assert.Equal([(sbyte)50, (sbyte)-127, (sbyte)10, (sbyte)127, (sbyte)0, (sbyte)-65], quantized);

        // Axis 1 of a [2, 3] MatMul weight: three channels.
        var (_, columnScales) = QuantizationParameters.QuantizeWeights([1f, -2f, 0f, -3f, 0.5f, 0f], [2, 3], 1);
        Assert.Equal([3f / 127f, 2f / 127f, 1f], columnScales);
    }

    [Fact]
    public void Calibrator_MinMax_ReportsTheObservedRangeOfIntermediateValues()
    {
        // input [batch, 4] → Relu → Neg → output: relu's range is [0, max], the input's [min, max].
        var g = new OnnxGraphBuilder("minmax");
        g.AddInput("input", TensorProto.Types.DataType.Float, "batch", 4);
        g.AddOutput("output", TensorProto.Types.DataType.Float, "batch", 4);
        g.AddNode("Relu", ["input"], ["relu"]);
        g.AddNode("Neg", ["relu"], ["output"]);
        var path = _temp.Combine("minmax.onnx");
        g.Save(path);
        var samples = new[]
        {
            new ModelSample("a", [-3f, 1f, 2f, 0.5f], null),
            new ModelSample("b", [0.25f, 7f, -1f, 0f], null),
        };

        var ranges = Calibrator.Collect(OnnxModelFile.Load(path), ["input", "relu"], samples, new QuantizationOptions());

        Assert.Equal(new TensorRange(-3f, 7f), ranges["input"]);
        Assert.Equal(new TensorRange(0f, 7f), ranges["relu"]);
    }
}
