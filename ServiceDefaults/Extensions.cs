using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The usual Aspire service defaults: OpenTelemetry (logs, traces, metrics; OTLP export when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set), default health checks, service discovery and
/// resilience for outgoing HTTP.
/// </summary>
public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>The meter of ASP.NET Core's pinned block memory pool (aspnetcore.memory_pool.*), not collected.</summary>
    public const string KestrelMemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                // The inference server's Triton-style metrics (Inference.Server.Telemetry.MetricNames.Meter).
                .AddMeter("Inference.Server")
                .AddAspNetCoreInstrumentation()
                // Kestrel's memory-pool instruments count every 4 KB block rented and returned: about 40 updates per
                // 150 KB request body, 3 % of a data-plane server's CPU, for figures nobody alerts on.
                .AddView(instrument => instrument.Meter.Name == KestrelMemoryPoolMeter ? MetricStreamConfiguration.Drop : null)
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation());
        if (otlp)
        {
            // Traces only where they go somewhere (the Aspire dashboard sets the endpoint): without an exporter every
            // request would still build and tag an Activity for nobody (as in Triton, tracing is off by default).
            telemetry.WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                // The inference server's trace extension in mode opentelemetry (Inference.Server.Tracing.TraceSpans.SourceName).
                .AddSource("Inference.Server")
                // Health probes would otherwise flood the traces.
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !ctx.Request.Path.StartsWithSegments(HealthEndpointPath)
                    && !ctx.Request.Path.StartsWithSegments(AlivenessEndpointPath)
                    && !ctx.Request.Path.StartsWithSegments("/v2/health"))
                .AddHttpClientInstrumentation());
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>Maps <c>/health</c> (all checks) and <c>/alive</c> (checks tagged "live").</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }
}
