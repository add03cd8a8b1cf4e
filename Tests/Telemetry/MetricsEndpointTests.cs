using System.Net;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Inference.Server.Telemetry;
using Inference.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Telemetry;

/// <summary>Scrapes <c>/metrics</c> of the real server on both ports and checks the names, labels and values that docs/metrics.md documents.</summary>
public sealed class MetricsEndpointTests(TelemetryServerFixture fixture) : IClassFixture<TelemetryServerFixture>
{
    private static readonly string[] TritonCounters =
    [
        "nv_inference_request_success", "nv_inference_request_failure", "nv_inference_count", "nv_inference_exec_count",
        "nv_inference_request_duration_us", "nv_inference_queue_duration_us", "nv_inference_compute_input_duration_us",
        "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us",
    ];

    private static readonly string[] Histograms =
    [
        "nv_inference_request_duration_seconds", "nv_inference_queue_duration_seconds",
        "nv_inference_compute_infer_duration_seconds", "nv_inference_exec_batch_size",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ServerHost Server => fixture.Server;

    [Fact]
    public async Task Scrape_KindAutoWithoutAGpu_CountsTheFallbackInstance()
    {
        Assert.SkipWhen(Inference.Server.Backends.OnnxRuntime.GpuProbe.Available, "a CUDA GPU is usable on this machine");

        var scrape = await ScrapeAsync(Server.MetricsAddress);

        Assert.Equal(1, scrape.Value("nv_inference_gpu_fallback_instances", [("model", "auto"), ("version", "1")]));
        Assert.Equal(0, scrape.Value("nv_inference_gpu_fallback_instances", [("model", "counted"), ("version", "1")]));
        Assert.Equal("gauge", scrape.Types["nv_inference_gpu_fallback_instances"]);
    }

    [Fact]
    public async Task Scrape_AfterInferences_ReportsTritonCountsThatMatchTheRequestsSent()
    {
        foreach (var rows in new[] { 2, 2, 2, 1 })
        {
            using var response = await InferAsync("counted", rows, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var scrape = await ScrapeAsync(Server.MetricsAddress);
        (string, string)[] counted = [("model", "counted"), ("version", "1")];
        Assert.Equal(4, scrape.Value("nv_inference_request_success", counted));
        Assert.Equal(7, scrape.Value("nv_inference_count", counted));
        Assert.Equal(4, scrape.Value("nv_inference_exec_count", counted));
        foreach (var reason in new[] { "REJECTED", "CANCELED", "BACKEND", "OTHER" })
        {
            Assert.Equal(0, scrape.Value("nv_inference_request_failure", [.. counted, ("reason", reason)]));
        }
        Assert.Equal(0, scrape.Value("nv_inference_pending_request_count", counted));
        foreach (var duration in new[] { "nv_inference_request_duration_us", "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us" })
        {
            Assert.True(scrape.Value(duration, counted) > 0, $"{duration} is 0 after 4 requests");
        }

        // The end-to-end counter and the histogram sum come from the same nanosecond values.
        var requestUs = scrape.Value("nv_inference_request_duration_us", counted);
        var requestSeconds = scrape.Value("nv_inference_request_duration_seconds_sum", counted);
        Assert.InRange(requestUs - requestSeconds * 1e6, -1.001, 0.001); // the counter truncates to whole microseconds

        foreach (var name in TritonCounters)
        {
            Assert.Equal("counter", scrape.Types[name]);
        }
        Assert.Equal("gauge", scrape.Types["nv_inference_pending_request_count"]);
        foreach (var name in Histograms)
        {
            Assert.Equal("histogram", scrape.Types[name]);
        }
    }

    [Fact]
    public async Task Scrape_AfterInferences_ReportsHistogramsWithTheDocumentedBuckets()
    {
        foreach (var rows in new[] { 2, 2, 2, 1 })
        {
            using var response = await InferAsync("bucketed", rows, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var scrape = await ScrapeAsync(Server.MetricsAddress);
        (string, string)[] bucketed = [("model", "bucketed"), ("version", "1")];
        var requests = scrape.Value("nv_inference_request_success", bucketed);
        Assert.Equal(4, requests);
        Assert.Equal(requests, scrape.Value("nv_inference_request_duration_seconds_count", bucketed));
        Assert.Equal(requests, scrape.Value("nv_inference_queue_duration_seconds_count", bucketed));
        Assert.Equal(requests, scrape.Value("nv_inference_request_duration_seconds_bucket", [.. bucketed, ("le", "+Inf")]));
        var executions = scrape.Value("nv_inference_exec_count", bucketed);
        Assert.Equal(executions, scrape.Value("nv_inference_compute_infer_duration_seconds_count", bucketed));
        Assert.Equal(executions, scrape.Value("nv_inference_exec_batch_size_count", bucketed));
        Assert.Equal(scrape.Value("nv_inference_count", bucketed), scrape.Value("nv_inference_exec_batch_size_sum", bucketed));
        // Sequential requests of 2, 2, 2 and 1 rows: four executions, one of them in the le="1" bucket.
        Assert.Equal(4, executions);
        Assert.Equal(1, scrape.Value("nv_inference_exec_batch_size_bucket", [.. bucketed, ("le", "1")]));
        Assert.Equal(executions, scrape.Value("nv_inference_exec_batch_size_bucket", [.. bucketed, ("le", "2")]));

        var latencyBounds = scrape.Named("nv_inference_request_duration_seconds_bucket").Where(s => s.Has(bucketed)).Select(s => s.Labels["le"]);
        Assert.Equal([.. InferenceHistograms.LatencyBuckets.Select(Format), "+Inf"], latencyBounds);
        var batchBounds = scrape.Named("nv_inference_exec_batch_size_bucket").Where(s => s.Has(bucketed)).Select(s => s.Labels["le"]);
        Assert.Equal([.. InferenceHistograms.BatchSizeBuckets.Select(b => Format(b)), "+Inf"], batchBounds);

        static string Format(double bound) => bound.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Failures_AreCountedByReason_AndTheQueuedRequestShowsAsPending()
    {
        (string, string)[] held = [("model", "held"), ("version", "1")];
        using var cancelFirst = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = InferAsync("held", 1, cancelFirst.Token);
        await WaitForAsync(s => s.PendingRequests == 1 && s.Statistics.ExecutionCount == 0, "the first request to be queued");

        var scrape = await ScrapeAsync(Server.MetricsAddress);
        Assert.Equal(1, scrape.Value("nv_inference_pending_request_count", held));

        using (var second = await InferAsync("held", 1, Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        }
        await cancelFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await WaitForAsync(s => s.Statistics.FailureCount(FailureReason.Canceled) == 1, "the cancelled request to be counted");

        foreach (var address in new[] { Server.MetricsAddress, Server.HttpAddress })
        {
            scrape = await ScrapeAsync(address);
            Assert.Equal(1, scrape.Value("nv_inference_request_failure", [.. held, ("reason", "REJECTED")]));
            Assert.Equal(1, scrape.Value("nv_inference_request_failure", [.. held, ("reason", "CANCELED")]));
            Assert.Equal(0, scrape.Value("nv_inference_request_failure", [.. held, ("reason", "BACKEND")]));
            Assert.Equal(0, scrape.Value("nv_inference_request_failure", [.. held, ("reason", "OTHER")]));
            Assert.Equal(0, scrape.Value("nv_inference_request_success", held));
            Assert.Equal(0, scrape.Value("nv_inference_pending_request_count", held));
        }
    }

    [Fact]
    public async Task BothPorts_ServeTheSameTritonMetrics()
    {
        using (var response = await InferAsync("twin", 1, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var metricsPort = await ScrapeAsync(Server.MetricsAddress);
        var httpPort = await ScrapeAsync(Server.HttpAddress);
        foreach (var name in TritonCounters)
        {
            var a = metricsPort.Named(name).Where(s => s.Labels["model"] == "twin").Select(s => (s.Labels.GetValueOrDefault("reason"), s.Value));
            var b = httpPort.Named(name).Where(s => s.Labels["model"] == "twin").Select(s => (s.Labels.GetValueOrDefault("reason"), s.Value));
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public async Task Scrape_ReportsTheNvmlGpuMetricsPerGpuUuid_OrNoneWithoutAGpu()
    {
        var uuids = Server.Services.GetRequiredService<GpuMetrics>().GpuUuids;
        var scrape = await ScrapeAsync(Server.MetricsAddress);
        var gpuSamples = scrape.Samples.Where(s => GpuMetricsTests.GpuMetricNames.Contains(s.Name)).ToList();
        if (uuids.Count == 0)
        {
            Assert.Empty(gpuSamples);
            return;
        }
        foreach (var uuid in uuids)
        {
            (string, string) gpu = ("gpu_uuid", uuid);
            Assert.InRange(scrape.Value("nv_gpu_utilization", gpu), 0, 1);
            var total = scrape.Value("nv_gpu_memory_total_bytes", gpu);
            Assert.True(total > 0);
            Assert.InRange(scrape.Value("nv_gpu_memory_used_bytes", gpu), 0, total);
            var limit = scrape.Value("nv_gpu_power_limit", gpu);
            Assert.True(limit > 0);
            Assert.InRange(scrape.Value("nv_gpu_power_usage", gpu), 0, limit * 1.5);
            Assert.True(scrape.Value("nv_energy_consumption", gpu) >= 0);
        }
        Assert.Equal("gauge", scrape.Types["nv_gpu_utilization"]);
        Assert.Equal("counter", scrape.Types["nv_energy_consumption"]);
    }

    [Fact]
    public async Task MetricsPort_ServesOnlyTheScrapePath()
    {
        using var http = new HttpClient { BaseAddress = Server.MetricsAddress };
        using var metrics = await http.GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        foreach (var path in new[] { "/v2", "/v2/health/ready", "/v2/models/counted", "/health" })
        {
            using var other = await http.GetAsync(path, Ct);
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        }
        Assert.NotEqual(Server.HttpAddress.Port, Server.MetricsAddress.Port);
    }

    private Task<HttpResponseMessage> InferAsync(string model, int rows, CancellationToken cancellationToken) =>
        Server.Http.PostAsync($"/v2/models/{model}/infer",
            Kserve.Binary("INPUT0", [rows, 16], Kserve.RandomFloats(rows * 16, seed: rows), "OUTPUT0"), cancellationToken);

    private static async Task<PrometheusText> ScrapeAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        return PrometheusText.Parse(await http.GetStringAsync("/metrics", Ct));
    }

    /// <summary>Polls the in-process statistics of <c>held</c> version 1 (no sleeping for a fixed time).</summary>
    private async Task WaitForAsync(Func<ModelStatisticsEntry, bool> condition, string what)
    {
        var server = Server.Services.GetRequiredService<IInferenceServer>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition(server.GetStatistics("held", 1).Value![0]))
        {
            Assert.False(timeout.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(10, CancellationToken.None);
        }
    }
}
