using Microsoft.Extensions.Logging;

namespace Inference.Server.Hosting;

/// <summary>Triton's log formats (--log-format).</summary>
public enum LogFormat
{
    /// <summary><c>I1202 18:37:36.123456 4242 Category] message</c>.</summary>
    Default,
    /// <summary><c>2026-12-02T18:37:36Z I 4242 Category] message</c>.</summary>
    Iso8601,
}

/// <summary>
/// The log settings in force, changed at run time by the logging extension (<c>/v2/logging</c>, gRPC LogSettings):
/// Triton's log_info, log_warning, log_error, log_verbose_level and log_format. The log file is fixed at start
/// (--log-file). Every logger consults these on each line (<see cref="ServerLogging"/>), so a change applies at once.
/// </summary>
public sealed class ServerLogSettings
{
    public const string DefaultFormatName = "default";
    public const string Iso8601FormatName = "ISO8601";

    private volatile bool _info = true;
    private volatile bool _warning = true;
    private volatile bool _error = true;
    private volatile int _verboseLevel;
    private volatile int _format;

    /// <summary>The log file (--log-file), or empty: standard output (info, verbose) and standard error (warnings, errors).</summary>
    public string File { get; init; } = "";

    public bool Info { get => _info; set => _info = value; }

    public bool Warning { get => _warning; set => _warning = value; }

    public bool Error { get => _error; set => _error = value; }

    /// <summary>Triton's verbose level: 0 quiet (nothing per request); above 0 the per-request lines and the server's
    /// Debug lines; above 1 its Trace lines too.</summary>
    public int VerboseLevel { get => _verboseLevel; set => _verboseLevel = value; }

    public LogFormat Format { get => (LogFormat)_format; set => _format = (int)value; }

    public string FormatName => Format == LogFormat.Iso8601 ? Iso8601FormatName : DefaultFormatName;

    /// <summary>Parses Triton's format names ("default", "ISO8601").</summary>
    public static LogFormat? ParseFormat(string? name) => name switch
    {
        DefaultFormatName => LogFormat.Default,
        Iso8601FormatName => LogFormat.Iso8601,
        _ => null,
    };

    /// <summary>The start-up settings from the server options (--log-info, --log-warning, --log-error, --log-verbose,
    /// --log-format, --log-file).</summary>
    public static ServerLogSettings From(InferenceServerOptions options) => new()
    {
        File = options.LogFile ?? "",
        Info = options.LogInfo,
        Warning = options.LogWarning,
        Error = options.LogError,
        VerboseLevel = Math.Max(options.LogVerbose, 0),
        Format = ParseFormat(options.LogFormat) ?? LogFormat.Default,
    };

    /// <summary>Whether a line of <paramref name="level"/> goes out: Triton's switch for its class (errors, warnings,
    /// info) and, for Debug and Trace, the verbose level.</summary>
    public bool Allows(LogLevel level) => level switch
    {
        LogLevel.Critical or LogLevel.Error => _error,
        LogLevel.Warning => _warning,
        LogLevel.Information => _info,
        LogLevel.None => false,
        _ => true,
    };
}
