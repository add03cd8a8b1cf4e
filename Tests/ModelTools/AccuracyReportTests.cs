using System.Text.Json;
using Inference.Server.ModelTools.Accuracy;

namespace Inference.Tests.ModelTools;

public sealed class AccuracyReportTests
{
    [Fact]
    public void Accumulator_KnownVectors_GiveKnownNumbers()
    {
        var accumulator = new AccuracyAccumulator();
        accumulator.AddRow([1f, 2f, 3f], [1f, 2f, 3f]);        // identical: cosine 1, same arg-max
        accumulator.AddRow([1f, 0f, 0f], [0f, 1f, 0f]);        // orthogonal: cosine 0, different arg-max
        accumulator.AddRow([0f, 3f, 4f], [0f, 6f, 8f]);        // scaled: cosine 1, diffs 0, 3, 4

        var report = accumulator.ToReport("test", "a", "b");

        Assert.Equal(3, report.Samples);
        Assert.Equal(2.0 / 3.0, report.Top1Agreement, 12);
        Assert.Equal(4.0, report.MaxAbsDiff, 12);
        Assert.Equal((0 + 0 + 0 + 1 + 1 + 0 + 0 + 3 + 4) / 9.0, report.MeanAbsDiff, 12);
        Assert.Equal(2.0 / 3.0, report.CosineMean, 12);
        Assert.Equal(0.0, report.CosineMin, 12);
    }

    [Fact]
    public void Accumulator_CosineOfOppositeVectorsIsMinusOne_AndZeroVectorsAgree()
    {
        var accumulator = new AccuracyAccumulator();
        accumulator.AddBatch([1f, -2f, 0f, 0f], [-1f, 2f, 0f, 0f], rows: 2);

        var report = accumulator.ToReport("t", "a", "b");

        Assert.Equal(-1.0, report.CosineMin, 12);
        Assert.Equal(0.0, report.CosineMean, 12); // (-1 + 1) / 2
    }

    [Fact]
    public void Accumulator_RowsOfDifferentLength_AreRejected()
    {
        var accumulator = new AccuracyAccumulator();
        Assert.Throws<ArgumentException>(() => accumulator.AddRow([1f, 2f], [1f]));
        Assert.Throws<InvalidOperationException>(() => accumulator.ToReport("t", "a", "b"));
    }

    [Fact]
    public void ToJson_HoldsTheNumbersAndDetails()
    {
        var report = new AccuracyReport("quantize --int8", "fp32.onnx", "int8.onnx", 4, 0.75, 0.5, 0.125, 0.995, 0.99)
        {
            Details = new Dictionary<string, string> { ["method"] = "Entropy" },
        };

        using var json = JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;

        Assert.Equal("quantize --int8", root.GetProperty("tool").GetString());
        Assert.Equal(4, root.GetProperty("samples").GetInt32());
        Assert.Equal(0.75, root.GetProperty("top1_agreement").GetDouble());
        Assert.Equal(0.5, root.GetProperty("max_abs_diff").GetDouble());
        Assert.Equal(0.125, root.GetProperty("mean_abs_diff").GetDouble());
        Assert.Equal(0.995, root.GetProperty("cosine_similarity_mean").GetDouble());
        Assert.Equal(0.99, root.GetProperty("cosine_similarity_min").GetDouble());
        Assert.Equal("Entropy", root.GetProperty("details").GetProperty("method").GetString());
    }
}
