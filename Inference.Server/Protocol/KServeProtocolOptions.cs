namespace Inference.Server.Protocol;

/// <summary>Settings of the KServe v2 front-ends.</summary>
public sealed class KServeProtocolOptions
{
    /// <summary>64 MiB: the host's Kestrel MaxRequestBodySize and the gRPC message limit.</summary>
    public const int DefaultMaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>Largest gRPC message received or sent, in bytes. HTTP bodies are limited by Kestrel's
    /// MaxRequestBodySize; this value is the HTTP fallback when the server exposes no such limit.</summary>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>How often the gRPC health service re-reads IInferenceServer.IsReady for Watch streams.</summary>
    public TimeSpan HealthRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);
}
