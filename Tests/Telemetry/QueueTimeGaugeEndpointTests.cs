using System.Net;
using Inference.Server.ModelTools;
using Inference.Server.Telemetry;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Inference.Tests.Telemetry;

/// <summary>
/// <c>nv_inference_queue_duration_avg_us</c> on <c>/metrics</c> of the real server over an identity model, with the
/// gauge's sampling clock replaced by a fake one (the server's own clock, which times the requests, stays real).
/// </summary>
public sealed class QueueTimeGaugeEndpointTests : IDisposable
{
    private const string Gauge = MetricNames.QueueDurationAvgUs;
    private static readonly (string, string)[] Labels = [("model", "gauged"), ("version", "1")];

    private readonly TempDirectory _repository = new();
    private readonly FakeTimeProvider _clock = new();

    public QueueTimeGaugeEndpointTests()
    {
        IdentityModelBuilder.Write(_repository.Path, "gauged", width: 16, maxBatchSize: 8, maxQueueDelayMicroseconds: 0);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task Scrape_AfterRequestsAndASample_ReportsTheAverageQueueTimeOfTheWindow_OnBothPorts()
    {
        await using var server = await StartAsync();
        Assert.Empty((await ScrapeAsync(server.MetricsAddress)).Named(Gauge));

        for (var i = 0; i < 3; i++)
        {
            await InferOkAsync(server);
        }
        _clock.Advance(QueueTimeWindow.SamplePeriod);

        foreach (var address in new[] { server.MetricsAddress, server.HttpAddress })
        {
            var scrape = await ScrapeAsync(address);
            Assert.Equal("gauge", scrape.Types[Gauge]);
            var average = scrape.Value(Gauge, Labels);
            Assert.True(average > 0, $"{Gauge} is {average} after 3 requests");
            // The same totals as the Triton counters; the queue counter is truncated to whole microseconds.
            Assert.Equal(3, scrape.Value(MetricNames.RequestSuccess, Labels));
            var fromCounters = scrape.Value(MetricNames.QueueDurationUs, Labels) / 3;
            Assert.InRange(average - fromCounters, 0, 1.0 / 3);
        }

        for (var i = 0; i < QueueTimeWindow.WindowSamples; i++)
        {
            _clock.Advance(QueueTimeWindow.SamplePeriod);
        }
        Assert.Equal(0, (await ScrapeAsync(server.MetricsAddress)).Value(Gauge, Labels));
    }

    [Fact]
    public async Task AReload_RestartsTheWindow_AndAnUnloadRemovesTheSeries()
    {
        await using var server = await StartAsync("--model-control-mode=explicit", "--load-model=gauged");
        await InferOkAsync(server);
        _clock.Advance(QueueTimeWindow.SamplePeriod);
        Assert.True((await ScrapeAsync(server.MetricsAddress)).Value(Gauge, Labels) > 0);

        using (var load = await server.Http.PostAsync("/v2/repository/models/gauged/load", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        _clock.Advance(QueueTimeWindow.SamplePeriod);
        var reloaded = await ScrapeAsync(server.MetricsAddress);
        Assert.Equal(0, reloaded.Value(MetricNames.RequestSuccess, Labels));
        Assert.Equal(0, reloaded.Value(Gauge, Labels));

        using (var unload = await server.Http.PostAsync("/v2/repository/models/gauged/unload", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }
        _clock.Advance(QueueTimeWindow.SamplePeriod);
        Assert.Empty((await ScrapeAsync(server.MetricsAddress)).Named(Gauge));
    }

    private Task<ServerHost> StartAsync(params string[] args) =>
        ServerHost.StartAsync(_repository.Path, services => services.AddKeyedSingleton<TimeProvider>(QueueTimeWindow.ClockKey, _clock), args);

    private static async Task InferOkAsync(ServerHost server)
    {
        using var response = await server.Http.PostAsync("/v2/models/gauged/infer",
            Kserve.Binary("INPUT0", [1, 16], Kserve.RandomFloats(16, seed: 1), "OUTPUT0"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<PrometheusText> ScrapeAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        return PrometheusText.Parse(await http.GetStringAsync("/metrics", Ct));
    }
}
