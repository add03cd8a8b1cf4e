using Inference.Server.Protocol;

namespace Inference.Server.Hosting;

/// <summary>How the server decides which models to load (Triton's --model-control-mode).</summary>
public enum ModelControlMode
{
    /// <summary>Load every model in the repository at start; the repository API cannot change them.</summary>
    None,
    /// <summary>Load only the models named by <see cref="InferenceServerOptions.LoadModels"/>; load and unload through the API.</summary>
    Explicit,
    /// <summary>Load every model at start and rescan the repository every <see cref="InferenceServerOptions.RepositoryPollSeconds"/>.</summary>
    Poll,
}

/// <summary>
/// Server tunables, bound from the configuration section <c>Inference</c> (environment variables
/// <c>Inference__HttpPort</c> ..., or Triton's command-line flags such as <c>--model-repository</c>).
/// </summary>
public sealed class InferenceServerOptions
{
    public const string SectionName = "Inference";

    /// <summary>The model repository folder. Empty: a default repository with a generated ResNet-50 is
    /// created in the cache folder on first start and served.</summary>
    public string? ModelRepository { get; set; }

    /// <summary>Triton's --model-config-name: each model's config is <c>&lt;model&gt;/configs/&lt;name&gt;.pbtxt</c>
    /// when that file exists, else its config.pbtxt. The default repository ships <c>configs/gpu.pbtxt</c>
    /// (ResNet-50 on KIND_GPU), so <c>gpu</c> serves it on the GPU.</summary>
    /// <value>Default none (config.pbtxt).</value>
    public string? ModelConfigName { get; set; }

    /// <value>Default <see cref="ModelControlMode.None"/>.</value>
    public ModelControlMode ModelControlMode { get; set; } = ModelControlMode.None;

    /// <summary>Models to load at start in explicit mode ("*" loads all).</summary>
    public List<string> LoadModels { get; set; } = [];

    /// <value>Default 15 seconds.</value>
    public int RepositoryPollSeconds { get; set; } = 15;

    /// <summary>Address to listen on.</summary>
    /// <value>Default 0.0.0.0 (all interfaces, as Triton).</value>
    public string Host { get; set; } = "0.0.0.0";

    /// <summary>KServe v2 over HTTP/1.1 (and h2c). 0 picks a free port.</summary>
    /// <value>Default 8000 (Triton's).</value>
    public int HttpPort { get; set; } = 8000;

    /// <summary>KServe v2 over gRPC (HTTP/2 without TLS). 0 picks a free port.</summary>
    /// <value>Default 8001 (Triton's).</value>
    public int GrpcPort { get; set; } = 8001;

    /// <summary>Prometheus metrics (<c>/metrics</c> only) on a port of their own, as Triton's --metrics-port.
    /// <c>/metrics</c> also answers on the HTTP port. 0 picks a free port.</summary>
    /// <value>Default 8002 (Triton's).</value>
    public int MetricsPort { get; set; } = 8002;

    /// <summary>Triton's --pinned-memory-pool-byte-size: page-locked host memory for received gRPC tensors and HTTP
    /// bodies, which GPU instances copy to the device without gathering them first (<c>PageLockedBufferPool</c>). Used only once a GPU
    /// instance loads; 0 turns it off.</summary>
    /// <value>Default 256 MiB (Triton's).</value>
    public long PinnedMemoryPoolByteSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>Largest accepted request body or gRPC message.</summary>
    /// <value>Default 64 MiB (Triton's HTTP limit).</value>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Largest accepted HTTP body of the load API (<c>POST /v2/repository/models/&lt;model&gt;/load</c>),
    /// which may carry model files in base64 (<c>file:</c> parameters): this route alone has this limit instead of
    /// <see cref="MaxRequestBodyBytes"/>; above it the answer is 413. Over gRPC the message limit
    /// (<see cref="MaxRequestBodyBytes"/>) applies to load requests as to every other.</summary>
    /// <value>Default 256 MiB (192 MiB of files once base64 is decoded).</value>
    public long MaxLoadRequestBodyBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The most bytes that the model folders written from the files of load requests may hold together on
    /// disk (each model's files plus its config); a load whose files would pass it is refused (400) until models
    /// loaded from files are unloaded or replaced.</summary>
    /// <value>Default 1 GiB.</value>
    public long MaxModelFilesBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Triton's --strict-readiness: ready only when every model that should be loaded is ready.
    /// When false, ready as soon as the start-up loads have finished, whatever their outcome.</summary>
    /// <value>Default true.</value>
    public bool StrictReadiness { get; set; } = true;

    /// <summary>Triton's --exit-timeout-secs: how long a stopping server (SIGTERM, SIGINT) waits for the inference requests
    /// already queued or executing before its listeners close. Meanwhile it answers not ready, refuses new inference
    /// requests (HTTP 503, gRPC UNAVAILABLE) and stays live (<see cref="ServerDrain"/>). 0 closes the listeners at once.
    /// The host's shutdown timeout is set to this plus <see cref="ServerDrain.ListenerCloseGrace"/>.</summary>
    /// <value>Default 30 seconds (Triton's); at most <see cref="MaxExitTimeoutSeconds"/>.</value>
    public int ExitTimeoutSeconds { get; set; } = 30;

    /// <summary>The largest <see cref="ExitTimeoutSeconds"/>: one day.</summary>
    public const int MaxExitTimeoutSeconds = 86_400;

    /// <summary>Triton's --log-verbose: 0 logs nothing per request (production-quiet); above 0 also logs ASP.NET Core's,
    /// HttpClient's and gRPC's per-request lines and the server's Debug lines (<see cref="ServerLogging"/>).</summary>
    /// <value>Default 0.</value>
    public int LogVerbose { get; set; }

    /// <summary>Triton's --log-info: Information lines on or off; the logging extension changes it at run time.</summary>
    /// <value>Default true.</value>
    public bool LogInfo { get; set; } = true;

    /// <summary>Triton's --log-warning.</summary>
    /// <value>Default true.</value>
    public bool LogWarning { get; set; } = true;

    /// <summary>Triton's --log-error.</summary>
    /// <value>Default true.</value>
    public bool LogError { get; set; } = true;

    /// <summary>Triton's --log-format: <c>default</c> or <c>ISO8601</c> (<see cref="TritonLogProvider"/>).</summary>
    /// <value>Default "default".</value>
    public string LogFormat { get; set; } = ServerLogSettings.DefaultFormatName;

    /// <summary>Triton's --log-file: every log line goes to this file (appended) instead of the console. Set only at
    /// start; the logging extension refuses to change it.</summary>
    /// <value>Default none (standard output and standard error).</value>
    public string? LogFile { get; set; }

    /// <summary>The largest total size of an HTTP request's headers (Kestrel's MaxRequestHeadersTotalSize); more is a 431.</summary>
    /// <value>Default 32 KiB (Kestrel's).</value>
    public int MaxRequestHeaderBytes { get; set; } = 32 * 1024;

    /// <summary>The most headers an HTTP request may carry (Kestrel's MaxRequestHeaderCount); more is a 431.</summary>
    /// <value>Default 100 (Kestrel's).</value>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>The size of the blocks Kestrel's connections read into (<see cref="LargeBlockMemoryPool"/>): a socket
    /// read fills at most one block, so larger blocks take a tensor in fewer reads and pipe segments (ASP.NET Core's own
    /// pool has 4 KB blocks). 0 leaves ASP.NET Core's pool in place.</summary>
    /// <value>Default 64 KiB; 0, or 4 KiB to 1 MiB.</value>
    public int ReadBlockBytes { get; set; } = 64 * 1024;

    /// <summary>The most read blocks kept idle for reuse; beyond them returned blocks are left to the GC.</summary>
    public const int MaxIdleReadBlocks = 256;

    /// <summary>How long an idle keep-alive connection stays open (Kestrel's KeepAliveTimeout).</summary>
    /// <value>Default 130 seconds (Kestrel's).</value>
    public int KeepAliveTimeoutSeconds { get; set; } = 130;

    /// <summary>How long a client may take to send a request's headers (Kestrel's RequestHeadersTimeout); a slower one is
    /// cut off.</summary>
    /// <value>Default 30 seconds (Kestrel's).</value>
    public int RequestHeadersTimeoutSeconds { get; set; } = 30;

    /// <summary>The most open connections per listener (Kestrel's MaxConcurrentConnections); a connection over it is closed
    /// at once. 0: unlimited.</summary>
    /// <value>Default 0, unlimited (as Triton).</value>
    public long MaxConcurrentConnections { get; set; }

    /// <summary>The most concurrent HTTP/2 streams (gRPC calls) on one connection of the gRPC port (Kestrel's
    /// Http2.MaxStreamsPerConnection, sent to clients as SETTINGS_MAX_CONCURRENT_STREAMS); a client keeps further calls
    /// waiting on its side or opens another connection.</summary>
    /// <value>Default 1024: many concurrent gRPC calls share one connection, and Kestrel's 100 would queue them.</value>
    public int GrpcMaxConcurrentStreams { get; set; } = 1024;

    /// <summary>Triton's --http-restricted-api (repeatable): <c>&lt;api-list&gt;:&lt;key&gt;=&lt;value&gt;</c>, the api list
    /// comma-separated from health, metadata, inference, shared-memory, model-config, model-repository, statistics, trace,
    /// logging. An HTTP request to a listed group without header <c>key</c> holding exactly <c>value</c> is refused with 403
    /// (<see cref="RestrictedApis"/>). Each group may be restricted once.</summary>
    /// <value>Default none (every API open, as Triton).</value>
    public List<string> HttpRestrictedApi { get; set; } = [];

    /// <summary>Triton's --grpc-restricted-protocol (repeatable): as <see cref="HttpRestrictedApi"/> for the gRPC
    /// methods; the key is a metadata key (lower-case) and a refused call ends PERMISSION_DENIED.</summary>
    /// <value>Default none (every method open, as Triton).</value>
    public List<string> GrpcRestrictedProtocol { get; set; } = [];

    /// <summary>Triton's --rate-limit: <c>off</c> (instances execute as soon as they are free; rate_limiter blocks are
    /// ignored, as Triton does) or <c>execution_count</c> (<see cref="Scheduling.RateLimiting.RateLimiter"/>).</summary>
    /// <value>Default <c>off</c> (Triton's default).</value>
    public string RateLimit { get; set; } = "off";

    /// <summary>Triton's --rate-limit-resource (repeatable): <c>&lt;name&gt;:&lt;count&gt;[:&lt;device&gt;]</c>.</summary>
    /// <value>Default none: each resource has the largest count an instance lists for it.</value>
    public List<string> RateLimitResource { get; set; } = [];

    /// <summary>Whether --rate-limit is <c>execution_count</c>.</summary>
    public bool RateLimiterEnabled => string.Equals(RateLimit, "execution_count", StringComparison.OrdinalIgnoreCase);

    /// <summary>Triton's --trace-config (repeatable, 2.4x form): <c>rate=N</c>, <c>level=OFF|TIMESTAMPS</c>, <c>count=N</c>,
    /// <c>mode=triton|opentelemetry</c>, <c>triton,file=PATH</c>, <c>triton,log-frequency=N</c> (<see cref="Tracing.TraceConfig"/>).
    /// The trace extension changes level, rate, count and log frequency at run time; the file only here.</summary>
    /// <value>Default none: tracing off, rate 1000, count -1, log frequency 0 (Triton's).</value>
    public List<string> TraceConfig { get; set; } = [];

    /// <summary>The parsed <see cref="TraceConfig"/>; whatever parsed when it has errors (<see cref="Validate"/> reports them).</summary>
    public Tracing.TraceConfig Tracing() => Inference.Server.Tracing.TraceConfig.Parse(TraceConfig, out _);

    /// <summary>Triton's --cache-config (repeatable): <c>local,size=&lt;bytes&gt;</c> turns on the response cache, shared by
    /// every model whose config says <c>response_cache { enable: true }</c> (<see cref="Caching.ResponseCacheSettings"/>).</summary>
    /// <value>Default none (no cache, as Triton).</value>
    public List<string> CacheConfig { get; set; } = [];

    /// <summary>Triton's deprecated --response-cache-byte-size: the same as <c>--cache-config local,size=N</c>; 0 is no cache.
    /// Not together with <see cref="CacheConfig"/>.</summary>
    /// <value>Default 0.</value>
    public long ResponseCacheByteSize { get; set; }

    /// <summary>The response cache's size in bytes from <see cref="CacheConfig"/> or <see cref="ResponseCacheByteSize"/>; 0: none.</summary>
    public long ResponseCacheBytes() => Caching.ResponseCacheSettings.Parse(CacheConfig, ResponseCacheByteSize, out _);

    /// <summary>The parsed <see cref="HttpRestrictedApi"/>; whatever parsed when it has errors (<see cref="Validate"/> reports them).</summary>
    public RestrictedApis HttpRestrictions() => RestrictedApis.Parse(HttpRestrictedApi, RestrictedApis.HttpFlag, out _);

    /// <summary>The parsed <see cref="GrpcRestrictedProtocol"/>.</summary>
    public RestrictedApis GrpcRestrictions() => RestrictedApis.Parse(GrpcRestrictedProtocol, RestrictedApis.GrpcFlag, out _);

    /// <summary>Start-up checks with messages naming the key to fix.</summary>
    public IEnumerable<string> Validate()
    {
        if (HttpPort is < 0 or > 65535)
        {
            yield return $"Inference:HttpPort must be 0..65535 (got {HttpPort}).";
        }
        if (GrpcPort is < 0 or > 65535)
        {
            yield return $"Inference:GrpcPort must be 0..65535 (got {GrpcPort}).";
        }
        if (MetricsPort is < 0 or > 65535)
        {
            yield return $"Inference:MetricsPort must be 0..65535 (got {MetricsPort}).";
        }
        if (HttpPort != 0 && HttpPort == GrpcPort)
        {
            yield return "Inference:HttpPort and Inference:GrpcPort must differ.";
        }
        if (MetricsPort != 0 && (MetricsPort == HttpPort || MetricsPort == GrpcPort))
        {
            yield return "Inference:MetricsPort must differ from Inference:HttpPort and Inference:GrpcPort.";
        }
        if (LogVerbose < 0)
        {
            yield return $"Inference:LogVerbose must be 0 (quiet) or more (got {LogVerbose}).";
        }
        if (ServerLogSettings.ParseFormat(LogFormat) is null)
        {
            yield return $"Inference:LogFormat must be {ServerLogSettings.DefaultFormatName} or {ServerLogSettings.Iso8601FormatName} (got '{LogFormat}').";
        }
        if (RepositoryPollSeconds < 1)
        {
            yield return $"Inference:RepositoryPollSeconds must be at least 1 (got {RepositoryPollSeconds}).";
        }
        if (MaxRequestBodyBytes < 1024)
        {
            yield return $"Inference:MaxRequestBodyBytes must be at least 1024 (got {MaxRequestBodyBytes}).";
        }
        if (MaxLoadRequestBodyBytes < 1024)
        {
            yield return $"Inference:MaxLoadRequestBodyBytes must be at least 1024 (got {MaxLoadRequestBodyBytes}).";
        }
        if (MaxModelFilesBytes < 0)
        {
            yield return $"Inference:MaxModelFilesBytes must be 0 (no model files in load requests) or more (got {MaxModelFilesBytes}).";
        }
        if (PinnedMemoryPoolByteSize < 0)
        {
            yield return $"Inference:PinnedMemoryPoolByteSize must be 0 (off) or more (got {PinnedMemoryPoolByteSize}).";
        }
        if (ExitTimeoutSeconds is < 0 or > MaxExitTimeoutSeconds)
        {
            yield return $"Inference:ExitTimeoutSeconds must be 0..{MaxExitTimeoutSeconds} seconds (got {ExitTimeoutSeconds}).";
        }
        if (!string.IsNullOrEmpty(ModelConfigName) && !IsPlainFileName(ModelConfigName))
        {
            yield return $"Inference:ModelConfigName '{ModelConfigName}' must be a file name without '.pbtxt', path separators or spaces.";
        }
        if (MaxRequestHeaderBytes < 1024)
        {
            yield return $"Inference:MaxRequestHeaderBytes must be at least 1024 (got {MaxRequestHeaderBytes}).";
        }
        if (MaxRequestHeaderCount < 1)
        {
            yield return $"Inference:MaxRequestHeaderCount must be at least 1 (got {MaxRequestHeaderCount}).";
        }
        if (ReadBlockBytes != 0 && ReadBlockBytes is < 4096 or > 1024 * 1024)
        {
            yield return $"Inference:ReadBlockBytes must be 0 (ASP.NET Core's pool) or 4096..1048576 (got {ReadBlockBytes}).";
        }
        if (KeepAliveTimeoutSeconds is < 1 or > MaxExitTimeoutSeconds)
        {
            yield return $"Inference:KeepAliveTimeoutSeconds must be 1..{MaxExitTimeoutSeconds} seconds (got {KeepAliveTimeoutSeconds}).";
        }
        if (RequestHeadersTimeoutSeconds is < 1 or > MaxExitTimeoutSeconds)
        {
            yield return $"Inference:RequestHeadersTimeoutSeconds must be 1..{MaxExitTimeoutSeconds} seconds (got {RequestHeadersTimeoutSeconds}).";
        }
        if (MaxConcurrentConnections < 0)
        {
            yield return $"Inference:MaxConcurrentConnections must be 0 (unlimited) or more (got {MaxConcurrentConnections}).";
        }
        if (GrpcMaxConcurrentStreams is < 1 or > 65536)
        {
            yield return $"Inference:GrpcMaxConcurrentStreams must be 1..65536 (got {GrpcMaxConcurrentStreams}).";
        }
        if (!RateLimiterEnabled && !string.Equals(RateLimit, "off", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"invalid argument for --rate-limit: '{RateLimit}' (expected off or execution_count).";
        }
        foreach (var resource in RateLimitResource)
        {
            if (Scheduling.RateLimiting.RateLimitResource.Parse(resource).Error is { } e)
            {
                yield return e.Message;
            }
        }
        RestrictedApis.Parse(HttpRestrictedApi, RestrictedApis.HttpFlag, out var httpErrors);
        foreach (var e in httpErrors)
        {
            yield return e;
        }
        Inference.Server.Tracing.TraceConfig.Parse(TraceConfig, out var traceErrors);
        foreach (var e in traceErrors)
        {
            yield return e;
        }
        RestrictedApis.Parse(GrpcRestrictedProtocol, RestrictedApis.GrpcFlag, out var grpcErrors);
        foreach (var e in grpcErrors)
        {
            yield return e;
        }
        Caching.ResponseCacheSettings.Parse(CacheConfig, ResponseCacheByteSize, out var cacheErrors);
        foreach (var e in cacheErrors)
        {
            yield return e;
        }
        if (!string.IsNullOrEmpty(ModelRepository) && !Directory.Exists(ModelRepository))
        {
            yield return $"Inference:ModelRepository '{ModelRepository}' does not exist.";
        }
    }

    private static bool IsPlainFileName(string name) =>
        name is not ("." or "..")
        && !name.EndsWith(".pbtxt", StringComparison.Ordinal)
        && name.IndexOfAny([.. Path.GetInvalidFileNameChars(), ' ', '\t', '/', '\\']) < 0;
}
