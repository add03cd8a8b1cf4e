using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Inference.Tests.Telemetry;

/// <summary>
/// Exposes the load generator's client metrics the way LoadTest does: a meter "LoadTest" with <c>loadtest_requests</c>
/// (counter, label status) and <c>loadtest_latency</c> (histogram, seconds), on <c>/metrics</c> through the
/// OpenTelemetry Prometheus exporter with its default naming (which adds <c>_total</c> and <c>_seconds</c>).
/// The test's own load loop records into it, so the dashboard's load-generator panels can be checked without LoadTest.
/// </summary>
internal sealed class LoadGeneratorStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _latency;

    private LoadGeneratorStandIn(WebApplication app, Meter meter, Uri address)
    {
        _app = app;
        _meter = meter;
        Address = address;
        _requests = meter.CreateCounter<long>("loadtest_requests", unit: null, "Requests sent by the load generator");
        _latency = meter.CreateHistogram<double>("loadtest_latency", "s", "Client-observed request latency");
    }

    public Uri Address { get; }

    public static async Task<LoadGeneratorStandIn> StartAsync()
    {
        var meterName = "LoadTest";
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(meterName).AddPrometheusExporter());
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint();
        var meter = new Meter(meterName);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new LoadGeneratorStandIn(app, meter, new Uri(address));
    }

    public void Record(string status, TimeSpan latency)
    {
        var tag = new KeyValuePair<string, object?>("status", status);
        _requests.Add(1, tag);
        _latency.Record(latency.TotalSeconds, tag);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _meter.Dispose();
    }
}
