using System.Diagnostics.Metrics;
using Inference.Server.Scheduling;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Inference.Server.Telemetry;

/// <summary>Registers the server's metrics and maps the Prometheus scraping endpoint.</summary>
public static class InferenceTelemetryExtensions
{
    /// <summary>The scraping path, on the main HTTP port and on the metrics port.</summary>
    public const string ScrapePath = "/metrics";

    /// <summary>
    /// Registers Triton's per-model metrics, the latency and batch-size histograms (as the model loader's
    /// <see cref="IModelStatisticsObserverFactory"/>), the windowed queue-time gauge <see cref="QueueTimeWindow"/> (sampled on the
    /// clock keyed <see cref="QueueTimeWindow.ClockKey"/>, by default the registered <see cref="TimeProvider"/>), the NVML GPU
    /// metrics, <paramref name="metricsListener"/>, and an OpenTelemetry Prometheus exporter for the meter
    /// <see cref="MetricNames.Meter"/> that writes instrument names unchanged (no <c>_total</c> or unit suffixes: the
    /// names are Triton's) and does not cache scrapes.
    /// Instruments of meters that another host's <see cref="IMeterFactory"/> created (several hosts in one process, as
    /// in tests) are dropped, so each host exports only its own: OpenTelemetry subscribes to meters by name process-wide,
    /// and would otherwise merge same-named instruments of all hosts and stop exporting them when any host stops.
    /// Exemplars are off (see docs/metrics.md).
    /// </summary>
    public static IServiceCollection AddInferenceTelemetry(this IServiceCollection services, MetricsListener metricsListener)
    {
        services.AddMetrics();
        services.AddSingleton(metricsListener);
        services.AddSingleton<InferenceHistograms>();
        services.AddSingleton<IModelStatisticsObserverFactory>(sp => sp.GetRequiredService<InferenceHistograms>());
        services.AddSingleton<ModelStatisticsMetrics>();
        services.AddSingleton<ResponseCacheMetrics>();
        services.TryAddKeyedSingleton<TimeProvider>(QueueTimeWindow.ClockKey, (sp, _) => sp.GetService<TimeProvider>() ?? TimeProvider.System);
        services.AddSingleton<QueueTimeWindow>();
        services.AddSingleton<GpuMetrics>();
        services.AddSingleton<CpuMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MetricNames.Meter)
            .AddPrometheusExporter(o =>
            {
                o.ScrapeEndpointPath = ScrapePath;
                o.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            var own = sp.GetRequiredService<IMeterFactory>();
            builder.AddView(i => i.Meter.Scope is IMeterFactory f && !ReferenceEquals(f, own) ? MetricStreamConfiguration.Drop : null);
            // OpenMetrics allows exemplars only on "_total" counter samples and histogram buckets; without the suffix,
            // Prometheus rejects a whole scrape that carries one (the AppHost turns trace-based exemplars on).
            builder.SetExemplarFilter(ExemplarFilterType.AlwaysOff);
        });
        return services;
    }

    /// <summary>
    /// Creates the observable instruments (and starts the queue-time gauge's sampling), answers requests on the metrics port with <see cref="ScrapePath"/> only
    /// (404 otherwise), and maps the scraping endpoint on every port.
    /// </summary>
    public static WebApplication MapInferenceMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<ModelStatisticsMetrics>();
        app.Services.GetRequiredService<ResponseCacheMetrics>();
        app.Services.GetRequiredService<QueueTimeWindow>();
        app.Services.GetRequiredService<GpuMetrics>();
        app.Services.GetRequiredService<CpuMetrics>();
        app.Use((context, next) =>
        {
            if (MetricsListener.IsMetricsConnection(context) && !context.Request.Path.Equals(ScrapePath, StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            return next(context);
        });
        app.MapPrometheusScrapingEndpoint(ScrapePath).DisableHttpMetrics();
        return app;
    }
}
