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
    };

    /// <summary>Turns repeated <c>--load-model=a --load-model=b</c> into indexed keys (the configuration
    /// command-line provider keeps only the last value of a repeated switch) and passes the rest through.</summary>
    public static string[] ExpandLoadModel(string[] args)
    {
        var result = new List<string>(args.Length);
        var index = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? value = null;
            if (arg.StartsWith("--load-model=", StringComparison.Ordinal))
            {
                value = arg["--load-model=".Length..];
            }
            else if (arg == "--load-model" && i + 1 < args.Length)
            {
                value = args[++i];
            }
            if (value is null)
            {
                result.Add(arg);
                continue;
            }
            result.Add($"--Inference:LoadModels:{index++}={value}");
        }
        return [.. result];
    }
}
