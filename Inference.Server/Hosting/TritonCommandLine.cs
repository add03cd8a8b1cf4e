using Inference.Server.Protocol;

namespace Inference.Server.Hosting;

/// <summary>Triton's server flags, mapped onto configuration keys so <c>--model-repository=/models</c> works as with tritonserver.</summary>
public static class TritonCommandLine
{
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--model-repository"] = "Inference:ModelRepository",
        ["--model-store"] = "Inference:ModelRepository",
        ["--model-config-name"] = "Inference:ModelConfigName",
        ["--model-control-mode"] = "Inference:ModelControlMode",
        ["--repository-poll-secs"] = "Inference:RepositoryPollSeconds",
        ["--http-port"] = "Inference:HttpPort",
        ["--grpc-port"] = "Inference:GrpcPort",
        ["--metrics-port"] = "Inference:MetricsPort",
        ["--http-address"] = "Inference:Host",
        ["--strict-readiness"] = "Inference:StrictReadiness",
        ["--max-request-body-bytes"] = "Inference:MaxRequestBodyBytes",
        ["--pinned-memory-pool-byte-size"] = "Inference:PinnedMemoryPoolByteSize",
        ["--exit-timeout-secs"] = "Inference:ExitTimeoutSeconds",
        ["--log-verbose"] = "Inference:LogVerbose",
        ["--rate-limit"] = "Inference:RateLimit",
        ["--log-info"] = "Inference:LogInfo",
        ["--log-warning"] = "Inference:LogWarning",
        ["--log-error"] = "Inference:LogError",
        ["--log-format"] = "Inference:LogFormat",
        ["--log-file"] = "Inference:LogFile",
        [Caching.ResponseCacheSettings.ByteSizeFlag] = "Inference:ResponseCacheByteSize",
        // Not Triton's: the limits of model files in load requests.
        ["--max-load-request-body-bytes"] = "Inference:MaxLoadRequestBodyBytes",
        ["--max-model-files-bytes"] = "Inference:MaxModelFilesBytes",
        // Not Triton's: Kestrel's limits.
        ["--max-request-header-bytes"] = "Inference:MaxRequestHeaderBytes",
        ["--max-request-header-count"] = "Inference:MaxRequestHeaderCount",
        ["--keep-alive-timeout-secs"] = "Inference:KeepAliveTimeoutSeconds",
        ["--read-block-bytes"] = "Inference:ReadBlockBytes",
        ["--request-headers-timeout-secs"] = "Inference:RequestHeadersTimeoutSeconds",
        ["--max-concurrent-connections"] = "Inference:MaxConcurrentConnections",
        ["--grpc-max-concurrent-streams"] = "Inference:GrpcMaxConcurrentStreams",
    };

    /// <summary>The repeatable flags and the list option each fills.</summary>
    public static readonly IReadOnlyDictionary<string, string> RepeatedSwitches = new Dictionary<string, string>
    {
        ["--load-model"] = "Inference:LoadModels",
        [RestrictedApis.HttpFlag] = "Inference:HttpRestrictedApi",
        [RestrictedApis.GrpcFlag] = "Inference:GrpcRestrictedProtocol",
        [Scheduling.RateLimiting.RateLimitResource.Flag] = "Inference:RateLimitResource",
        [Tracing.TraceConfig.Flag] = "Inference:TraceConfig",
        [Caching.ResponseCacheSettings.CacheConfigFlag] = "Inference:CacheConfig",
    };

    /// <summary>Turns repeated <c>--load-model=a --load-model=b</c> (and the other <see cref="RepeatedSwitches"/>) into
    /// indexed keys (the configuration command-line provider keeps only the last value of a repeated switch) and passes
    /// the rest through.</summary>
    public static string[] ExpandLoadModel(string[] args)
    {
        var result = new List<string>(args.Length);
        var indexes = new Dictionary<string, int>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? key = null, value = null;
            foreach (var (flag, option) in RepeatedSwitches)
            {
                if (arg.StartsWith(flag + "=", StringComparison.Ordinal))
                {
                    (key, value) = (option, arg[(flag.Length + 1)..]);
                }
                else if (arg == flag && i + 1 < args.Length)
                {
                    (key, value) = (option, args[++i]);
                }
                if (key is not null)
                {
                    break;
                }
            }
            if (key is null)
            {
                result.Add(arg);
                continue;
            }
            var index = indexes.GetValueOrDefault(key);
            indexes[key] = index + 1;
            result.Add($"--{key}:{index}={value}");
        }
        return [.. result];
    }
}
