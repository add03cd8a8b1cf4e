using LoadTest.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace LoadTest.Telemetry;

/// <summary>
/// Exports <see cref="LoadTestMetrics"/>: over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the Aspire
/// dashboard sets it for its resources), and on a Prometheus scrape endpoint (<c>/metrics</c>) when a port is given.
/// Dispose to flush and stop: the last OTLP export gets at most <see cref="FinalExportTimeout"/>, so an endpoint that
/// accepts connections but does not answer cannot hold the exit (OpenTelemetry's own disposal waits up to 5 s, and a
/// stopped LoadTest has to be gone within the 6 s DCP, the Aspire dashboard's Stop, waits after SIGTERM).
/// </summary>
public sealed class MetricsExport : IAsyncDisposable
{
    /// <summary>How long the last export may take when the run ends; what it has not sent by then is dropped.</summary>
    public static readonly TimeSpan FinalExportTimeout = TimeSpan.FromSeconds(1);

    private readonly MeterProvider? _provider;
    private readonly WebApplication? _scrape;

    private MetricsExport(MeterProvider? provider, WebApplication? scrape)
    {
        _provider = provider;
        _scrape = scrape;
    }

    /// <summary>Where Prometheus can scrape, or null.</summary>
    public Uri? ScrapeUri { get; private init; }

    public static async Task<MetricsExport> StartAsync(int metricsPort, CancellationToken cancellationToken)
    {
        var otlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if (metricsPort > 0)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.ListenAnyIP(metricsPort, l => l.Protocols = HttpProtocols.Http1));
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "loadtest"))
                .WithMetrics(m =>
                {
                    Configure(m).AddPrometheusExporter();
                    if (otlp)
                    {
                        m.AddOtlpExporter();
                    }
                });
            var app = builder.Build();
            app.MapPrometheusScrapingEndpoint();
            await app.StartAsync(cancellationToken);
            return new MetricsExport(null, app) { ScrapeUri = new Uri($"http://localhost:{metricsPort}/metrics") };
        }
        if (otlp)
        {
            var provider = Configure(Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(r => r.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "loadtest")))
                .AddOtlpExporter().Build();
            return new MetricsExport(provider, null);
        }
        return new MetricsExport(null, null);
    }

    private static MeterProviderBuilder Configure(MeterProviderBuilder metrics) => metrics
        .AddMeter(LoadTestMetrics.MeterName)
        .AddView(LoadTestMetrics.LatencyName, new ExplicitBucketHistogramConfiguration { Boundaries = LoadTestMetrics.LatencyBuckets });

    public async ValueTask DisposeAsync()
    {
        // Shutdown exports what is left once, waiting at most the timeout; the Dispose that follows (the provider's own,
        // or the host's service provider's) then finds it shut down and does not wait again.
        var provider = _provider ?? _scrape?.Services.GetService<MeterProvider>();
        provider?.Shutdown((int)FinalExportTimeout.TotalMilliseconds);
        _provider?.Dispose();
        if (_scrape is not null)
        {
            await _scrape.StopAsync();
            await _scrape.DisposeAsync();
        }
    }
}
