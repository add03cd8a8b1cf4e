namespace Inference.Server.Protocol;

/// <summary>Settings of the KServe v2 front-ends.</summary>
public sealed class KServeProtocolOptions
{
    /// <summary>64 MiB: the host's Kestrel MaxRequestBodySize and the gRPC message limit.</summary>
    public const int DefaultMaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>Largest gRPC message received or sent, in bytes. HTTP bodies are limited by Kestrel's
    /// MaxRequestBodySize; this value is the HTTP fallback when the server exposes no such limit.</summary>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>Largest HTTP body of the load API alone, whose body may carry model files in base64; every other route
    /// keeps Kestrel's MaxRequestBodySize.</summary>
    /// <value>Default 256 MiB (the server's --max-load-request-body-bytes).</value>
    public long MaxLoadRequestBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How often the gRPC health service re-reads IInferenceServer.IsReady for Watch streams.</summary>
    public TimeSpan HealthRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>API groups of the HTTP endpoints that need a header (Triton's --http-restricted-api); read when the
    /// endpoints are mapped.</summary>
    /// <value>Default none restricted.</value>
    public RestrictedApis HttpRestrictions { get; set; } = RestrictedApis.None;

    /// <summary>API groups of the gRPC methods that need a metadata key (Triton's --grpc-restricted-protocol); read
    /// when the methods are bound.</summary>
    /// <value>Default none restricted.</value>
    public RestrictedApis GrpcRestrictions { get; set; } = RestrictedApis.None;
}
