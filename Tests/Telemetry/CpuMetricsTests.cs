using Inference.Server.Telemetry;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Telemetry;

/// <summary>Triton's CPU metrics: the /proc parsers, and the three gauges on the real server's <c>/metrics</c>.</summary>
public sealed class CpuMetricsTests(TelemetryServerFixture fixture) : IClassFixture<TelemetryServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void ParseCpuTimes_ReadsTheAggregateLine_AndUtilizationCountsIowaitAsIdle()
    {
        var before = ProcStats.ParseCpuTimes("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")!.Value;
        var after = ProcStats.ParseCpuTimes("cpu  250 10 140 1000 200 0 0 0 0 0\n")!.Value;

        // busy 150 + 10 + 40 = 200, idle 300 + 100 = 400.
        Assert.Equal(200.0 / 600, after.UtilizationSince(before)!.Value, 6);
        Assert.Null(after.UtilizationSince(after));
    }

    [Theory]
    [InlineData("")]
    [InlineData("cpu0 1 2 3 4 5 6 7 8\n")]
    [InlineData("cpu 1 2 3\n")]
    [InlineData("cpu 1 2 x 4 5 6 7 8\n")]
    public void ParseCpuTimes_OtherText_IsNull(string text) => Assert.Null(ProcStats.ParseCpuTimes(text));

    [Fact]
    public void ParseMemory_UsedIsTotalMinusAvailable_InBytes()
    {
        var memory = ProcStats.ParseMemory("MemTotal:       16000 kB\nMemFree:         1000 kB\nMemAvailable:    4000 kB\n");

        Assert.Equal((16000UL * 1024, 12000UL * 1024), memory);
    }

    [Theory]
    [InlineData("MemTotal: 100 kB\n")]
    [InlineData("MemTotal: 100 kB\nMemAvailable: 200 kB\n")]
    [InlineData("MemTotal: x kB\nMemAvailable: 1 kB\n")]
    public void ParseMemory_MissingOrInconsistent_IsNull(string text) => Assert.Null(ProcStats.ParseMemory(text));

    [Fact]
    public void WithoutProc_TheMetricsAreNotPublished()
    {
        using var folder = new TempDirectory();
        using var factory = new TestMeterFactory();
        var metrics = new CpuMetrics(factory, folder.Combine("stat"), folder.Combine("meminfo"));

        Assert.False(metrics.IsAvailable);
    }

    [Fact]
    public async Task Scrape_ReportsTritonsCpuGauges()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc is Linux's");
        var server = fixture.Server;
        using var http = new HttpClient { BaseAddress = server.MetricsAddress };

        var first = PrometheusText.Parse(await http.GetStringAsync("/metrics", Ct));
        var scrape = PrometheusText.Parse(await http.GetStringAsync("/metrics", Ct));

        var expected = ProcStats.ParseMemory(File.ReadAllText(ProcStats.MemInfoPath))!.Value;
        Assert.Equal((double)expected.Total, scrape.Value("nv_cpu_memory_total_bytes"));
        var used = scrape.Value("nv_cpu_memory_used_bytes");
        Assert.InRange(used, 1, expected.Total);
        foreach (var s in new[] { first, scrape })
        {
            if (s.Named("nv_cpu_utilization").Any())
            {
                Assert.InRange(s.Value("nv_cpu_utilization"), 0.0, 1.0);
            }
        }
        Assert.True(first.Named("nv_cpu_utilization").Any() || scrape.Named("nv_cpu_utilization").Any(), "nv_cpu_utilization was never reported");
        foreach (var name in new[] { "nv_cpu_utilization", "nv_cpu_memory_total_bytes", "nv_cpu_memory_used_bytes" })
        {
            Assert.Equal("gauge", scrape.Types[name]);
        }
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
