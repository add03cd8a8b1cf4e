using Inference.Server.Scheduling;
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
    /// <see cref="IModelStatisticsObserverFactory"/>), the NVML GPU metrics, <paramref name="metricsListener"/>, and an
    /// OpenTelemetry Prometheus exporter for the meter <see cref="MetricNames.Meter"/> that writes instrument names
    /// unchanged (no <c>_total</c> or unit suffixes: the names are Triton's) and does not cache scrapes.
    /// </summary>
    public static IServiceCollection AddInferenceTelemetry(this IServiceCollection services, MetricsListener metricsListener)
    {
        services.AddMetrics();
        services.AddSingleton(metricsListener);
        services.AddSingleton<InferenceHistograms>();
        services.AddSingleton<IModelStatisticsObserverFactory>(sp => sp.GetRequiredService<InferenceHistograms>());
        services.AddSingleton<ModelStatisticsMetrics>();
        services.AddSingleton<GpuMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(MetricNames.Meter)
            .AddPrometheusExporter(o =>
            {
                o.ScrapeEndpointPath = ScrapePath;
                o.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                o.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        return services;
    }

    /// <summary>
    /// Creates the observable instruments, answers requests on the metrics port with <see cref="ScrapePath"/> only
    /// (404 otherwise), and maps the scraping endpoint on every port.
    /// </summary>
    public static WebApplication MapInferenceMetrics(this WebApplication app)
    {
        app.Services.GetRequiredService<ModelStatisticsMetrics>();
        app.Services.GetRequiredService<GpuMetrics>();
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
