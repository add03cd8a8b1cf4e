using System.Net;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protocol;
using Inference.Server.Protocol.Grpc;
using Inference.Server.Protocol.Http;
using Inference.Server.Repository;
using Inference.Server.Telemetry;
using Inference.Server.Tracing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Inference.Server.Hosting;

public static class InferenceServerHostingExtensions
{
    /// <summary>
    /// Registers the inference server: options (section <c>Inference</c>, validated at start), the model
    /// manager as <see cref="IInferenceServer"/>, the KServe v2 front-ends, Kestrel's HTTP (HTTP/1.1)
    /// and gRPC (HTTP/2) listeners, the metrics (with a listener of their own on the metrics port), a
    /// readiness health check, and the drain at shutdown (<see cref="ServerDrain"/>, which also sets the host's
    /// shutdown timeout).
    /// </summary>
    public static WebApplicationBuilder AddInferenceServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var options = builder.Configuration.GetSection(InferenceServerOptions.SectionName).Get<InferenceServerOptions>() ?? new();
        ServerLogging.Configure(builder.Logging, options);
        services.AddOptions<InferenceServerOptions>()
            .Bind(builder.Configuration.GetSection(InferenceServerOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<InferenceServerOptions>, InferenceServerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<InferenceServerOptions>>().Value;
            var root = string.IsNullOrEmpty(options.ModelRepository) ? DefaultModelRepository.EnsureCreated() : options.ModelRepository;
            return new ModelRepository(root, options.ModelConfigName);
        });
        services.AddSingleton(sp => new Caching.ResponseCache(sp.GetRequiredService<IOptions<InferenceServerOptions>>().Value.ResponseCacheBytes()));
        services.AddSingleton<ModelVersionLoader>();
        // Model files of load requests go to a server-owned temporary folder, never into the repository.
        services.AddSingleton(sp => new ModelFileStore(sp.GetRequiredService<IOptions<InferenceServerOptions>>().Value.MaxModelFilesBytes));
        services.AddSingleton<ModelManager>();
        var startOptions = builder.Configuration.GetSection(InferenceServerOptions.SectionName).Get<InferenceServerOptions>() ?? new();
        if (startOptions.RateLimiterEnabled)
        {
            // Flags that do not parse fail the start through the options validation.
            services.AddSingleton(new Scheduling.RateLimiting.RateLimiter(
                [.. startOptions.RateLimitResource.Select(r => Scheduling.RateLimiting.RateLimitResource.Parse(r).Value).OfType<Scheduling.RateLimiting.RateLimitResource>()]));
        }
        services.AddSingleton<IInferenceServer>(sp => sp.GetRequiredService<ModelManager>());
        services.AddHostedService<ModelManagerService>();
        // Graceful shutdown: drain before Kestrel closes the listeners, and give the host time for it.
        services.AddSingleton<ServerDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerDrain>());
        services.PostConfigure<HostOptions>(host => host.ShutdownTimeout = ServerDrain.HostShutdownTimeout(options.ExitTimeoutSeconds));
        // One limit for HTTP bodies and gRPC messages (--max-request-body-bytes), as the option promises.
        // Received tensors go into page-locked memory once a GPU instance activates the pool (Triton's pinned pool).
        PageLockedBufferPool.Shared.CapacityBytes = options.PinnedMemoryPoolByteSize;
        services.AddSingleton<ITensorBufferPool>(PageLockedBufferPool.Shared);
        // Restricted API groups (--http-restricted-api, --grpc-restricted-protocol): fixed when the endpoints are mapped;
        // flags that do not parse fail the start through the options validation.
        services.AddKServeProtocol(kserve =>
        {
            kserve.MaxMessageBytes = (int)Math.Min(options.MaxRequestBodyBytes, Array.MaxLength);
            kserve.MaxLoadRequestBytes = Math.Min(options.MaxLoadRequestBodyBytes, Array.MaxLength);
            kserve.HttpRestrictions = options.HttpRestrictions();
            kserve.GrpcRestrictions = options.GrpcRestrictions();
        });
        services.AddKServeResponseCompression();
        // Triton's trace extension (--trace-config, /v2/trace/setting); flushed and closed when the host is disposed.
        services.AddSingleton<TraceSpans>();
        services.AddSingleton(sp => new TraceManager(options.Tracing(), sp.GetRequiredService<TraceSpans>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<TraceManager>>()));
        services.AddHealthChecks().AddCheck<ModelReadinessHealthCheck>("models");
        var metricsListener = new MetricsListener();
        services.AddInferenceTelemetry(metricsListener);

        if (options.ReadBlockBytes > 0)
        {
            // Registered after Kestrel's default factory: the last registration is the one resolved.
            services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>>(
                new LargeBlockMemoryPoolFactory(options.ReadBlockBytes, InferenceServerOptions.MaxIdleReadBlocks));
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeaderBytes;
            kestrel.Limits.MaxRequestHeaderCount = options.MaxRequestHeaderCount;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(options.KeepAliveTimeoutSeconds);
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(options.RequestHeadersTimeoutSeconds);
            kestrel.Limits.MaxConcurrentConnections = options.MaxConcurrentConnections > 0 ? options.MaxConcurrentConnections : null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.GrpcMaxConcurrentStreams;
            // HTTP/1.1 only, as Triton's HTTP port: without TLS Kestrel cannot negotiate HTTP/2 there anyway (it warned so
            // at every start); gRPC has its own HTTP/2 port.
            Listen(kestrel, options.Host, options.HttpPort, HttpProtocols.Http1);
            Listen(kestrel, options.Host, options.GrpcPort, HttpProtocols.Http2);
            Listen(kestrel, options.Host, options.MetricsPort, HttpProtocols.Http1, metricsListener.Attach);
        });
        return builder;
    }

    /// <summary>Maps the KServe v2 HTTP and gRPC endpoints, the service-default health endpoints and <c>/metrics</c>;
    /// gRPC requests are limited per message by gRPC rather than by Kestrel's body size (<see cref="GrpcRequestBodyLimit"/>);
    /// HTTP/1.x connections close after each answer while the server drains (<see cref="DrainConnectionClose"/>).</summary>
    public static WebApplication MapInferenceServer(this WebApplication app)
    {
        app.UseConnectionCloseWhileDraining();
        app.UseGrpcMessageLimitOnly(app.Services.GetRequiredService<IOptions<KServeProtocolOptions>>().Value.MaxMessageBytes);
        app.UseKServeRouteErrorReplies();
        // Triton's HTTP Content-Encoding (gzip, deflate) both ways on /v2.
        app.UseKServeResponseCompression();
        app.UseKServeRequestDecompression();
        app.MapInferenceMetrics();
        app.MapDefaultEndpoints();
        app.MapKServeHttp();
        app.MapKServeGrpc();
        return app;
    }

    private static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols, Action<ListenOptions>? configure = null)
    {
        void Configure(ListenOptions l)
        {
            l.Protocols = protocols;
            configure?.Invoke(l);
        }
        if (host is "localhost")
        {
            kestrel.ListenLocalhost(port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(host), port, Configure);
        }
    }

    private sealed class InferenceServerOptionsValidator : IValidateOptions<InferenceServerOptions>
    {
        public ValidateOptionsResult Validate(string? name, InferenceServerOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }

    private sealed class ModelReadinessHealthCheck(IInferenceServer server) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(server.IsReady ? HealthCheckResult.Healthy("models ready") : HealthCheckResult.Unhealthy("models not ready"));
    }
}
