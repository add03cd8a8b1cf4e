namespace Inference.Server.Tracing;

/// <summary>Triton's trace levels (flags): what a sampled request records.</summary>
[Flags]
public enum TraceLevel
{
    /// <summary>Tracing disabled.</summary>
    Off = 0,
    /// <summary>The request's timestamps (REQUEST_START ... REQUEST_END).</summary>
    Timestamps = 1,
    /// <summary>Triton's input and output tensor dumps: not supported here, refused wherever it is asked for.</summary>
    Tensors = 2,
}

/// <summary>Where sampled traces go (Triton's trace mode).</summary>
public enum TraceMode
{
    /// <summary>Triton's JSON trace file (<c>trace_file</c>, indexed per <c>log_frequency</c>).</summary>
    Triton,
    /// <summary>OpenTelemetry spans through the server's OTLP exporter.</summary>
    OpenTelemetry,
}

/// <summary>Triton's names of levels and modes.</summary>
public static class TraceNames
{
    public const string Off = "OFF";
    public const string Timestamps = "TIMESTAMPS";
    public const string Tensors = "TENSORS";

    public static string Of(TraceMode mode) => mode == TraceMode.Triton ? "triton" : "opentelemetry";

    /// <summary>The level as Triton lists it: ["OFF"] or ["TIMESTAMPS"].</summary>
    public static IReadOnlyList<string> Of(TraceLevel level) => level == TraceLevel.Off ? [Off] : [Timestamps];

    /// <summary>Parses Triton's level names (each of OFF, TIMESTAMPS; OFF only alone); null and the error otherwise.</summary>
    public static TraceLevel? ParseLevels(IReadOnlyList<string> names, out string? error)
    {
        error = null;
        var level = TraceLevel.Off;
        foreach (var name in names)
        {
            switch (name)
            {
                case Off when names.Count == 1:
                    return TraceLevel.Off;
                case Off:
                    error = "Expect only one trace level 'OFF' is specified";
                    return null;
                case Timestamps:
                    level |= TraceLevel.Timestamps;
                    break;
                case Tensors:
                    error = "trace level 'TENSORS' is not supported by this server; use 'TIMESTAMPS'";
                    return null;
                default:
                    error = $"unknown trace level '{name}'; valid: OFF, TIMESTAMPS";
                    return null;
            }
        }
        if (level == TraceLevel.Off)
        {
            error = "trace_level must name at least one level (OFF or TIMESTAMPS)";
            return null;
        }
        return level;
    }
}
