using System.Text.Json;
using LoadTest.Model;
using LoadTest.Report;
using LoadTest.Stats;
using Inference.Tests.ModelTools;

namespace Inference.Tests.LoadTest;

public sealed class ReportFilesTests
{
    private static RunReport Sample(double? maxP99Ms = null, double latencyScale = 1)
    {
        LevelResult Level(int c, double rps, double p99, params (string, long)[] errors) => new("concurrency", c, 2, 10, (long)(rps * 10),
            errors.ToDictionary(e => e.Item1, e => e.Item2), new LatencySummary((long)(rps * 10), p99 / 3, p99 / 4, p99 / 2, p99 / 1.5, p99, p99 * 2),
            new ServerBreakdown(100, 200, 50, 400, 120, 10, 250, 20, 4), 3, true);
        IReadOnlyList<LevelResult> levels = [Level(1, 1000, 900 * latencyScale), Level(8, 4000, 4000 * latencyScale, ("http-503", 3))];
        return new RunReport(new RunInfo("http://127.0.0.1:8001/", "grpc", "identity", "concurrency", 2, "INPUT0 FP32 [2,16], random data",
                "5000 ms windows", "LoadTest --concurrency 1,8", DateTimeOffset.UnixEpoch, "test machine"),
            levels, null, SloVerdict.Evaluate(levels, 0, maxP99Ms));
    }

    [Fact]
    public void Html_LatencyAxes_UseSecondsForLongLatencies_NeverThousandsOfMicroseconds()
    {
        var seconds = HtmlReport.Render(Sample(latencyScale: 10_000)); // p99 up to 40 s, max 80 s
        Assert.Contains("latency (s)", seconds);
        Assert.DoesNotContain("latency (ms)", seconds);
        Assert.DoesNotContain("000k<", seconds);

        var millis = HtmlReport.Render(Sample()); // p99 0.9-4 ms
        Assert.Contains("latency (ms)", millis);
        Assert.Equal((1_000_000d, "s"), HtmlReport.TimeUnit([10_000_000]));
        Assert.Equal((1_000d, "ms"), HtmlReport.TimeUnit([1_000, 9_999_999]));
        Assert.Equal((1d, "us"), HtmlReport.TimeUnit([999]));
        Assert.Equal((1d, "us"), HtmlReport.TimeUnit([]));
    }

    [Fact]
    public async Task WriteAsync_WritesCsvJsonAndSelfContainedHtml()
    {
        using var dir = new TempDirectory();

        await ReportFiles.WriteAsync(dir.Path, Sample(), TestContext.Current.CancellationToken);

        var csv = await File.ReadAllLinesAsync(dir.Combine("results.csv"), TestContext.Current.CancellationToken);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("concurrency,infer_per_sec,requests_per_sec,p50_us,p90_us,p95_us,p99_us,max_us", csv[0]);
        var row = csv[2].Split(',');
        Assert.Equal(csv[0].Split(',').Length, row.Length);
        Assert.Equal(["8", "8000.0", "4000.0", "1000", "2000", "2667", "4000", "8000"], row[..8]);
        Assert.Equal("120.0", row[11]);
        Assert.Equal("4.00", row[15]);

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(dir.Combine("results.json"), TestContext.Current.CancellationToken));
        var levels = json.RootElement.GetProperty("levels");
        Assert.Equal(2, levels.GetArrayLength());
        Assert.Equal(4000, levels[1].GetProperty("latency").GetProperty("p99_us").GetDouble());
        Assert.Equal(3, levels[1].GetProperty("errors").GetProperty("http-503").GetInt64());
        Assert.Equal(250, levels[0].GetProperty("server").GetProperty("compute_infer_us").GetDouble());
        Assert.False(json.RootElement.GetProperty("verdict").GetProperty("passed").GetBoolean());

        var html = await File.ReadAllTextAsync(dir.Combine("report.html"), TestContext.Current.CancellationToken);
        Assert.Equal(4, html.Split("<svg").Length - 1);
        Assert.Contains("Throughput vs latency", html);
        Assert.Contains("<polyline", html);
        Assert.Contains("http-503: 3", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("src=", html);
    }

    [Fact]
    public void SloVerdict_ErrorsAndP99OverTheLimit_Fail()
    {
        var verdict = Sample(maxP99Ms: 2).Verdict;

        Assert.False(verdict.Passed);
        Assert.Equal(2, verdict.Failures.Count);
        Assert.Contains(verdict.Failures, f => f.Contains("error rate") && f.Contains("http-503: 3"));
        Assert.Contains(verdict.Failures, f => f.Contains("p99 4 ms > 2 ms"));
    }

    [Fact]
    public void SloVerdict_ToleratedErrorRateAndP99_Pass()
    {
        var levels = Sample().Levels;

        Assert.True(SloVerdict.Evaluate(levels, maxErrorRate: 0.01, maxP99Ms: 5).Passed);
    }
}
