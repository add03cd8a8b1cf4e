using Inference.Server.Core;

namespace Inference.Server.Hosting;

/// <summary>
/// A logging extension update (<c>POST /v2/logging</c>, gRPC LogSettings): the fields given, each null when absent.
/// Front-ends check every field before any is applied, so a bad request changes nothing.
/// </summary>
public sealed record LogSettingsUpdate(bool? Info = null, bool? Warning = null, bool? Error = null, int? VerboseLevel = null, LogFormat? Format = null)
{
    public const string LogFile = "log_file";
    public const string LogInfo = "log_info";
    public const string LogWarning = "log_warning";
    public const string LogError = "log_error";
    public const string LogVerboseLevel = "log_verbose_level";
    public const string LogFormatName = "log_format";

    /// <summary>Triton 2.4x and later: a remote caller must not choose where the server writes.</summary>
    public static InferenceError FileRefused { get; } = new(ErrorCode.Unsupported, "log file location can not be updated through network protocol");

    public static InferenceError Expect(string kind, string name) => new(ErrorCode.InvalidArgument, $"expect {kind} for '{name}'");

    public static InferenceError BadFormat(string value) => new(ErrorCode.InvalidArgument,
        $"invalid argument for log_format, got: {value}; valid: {ServerLogSettings.DefaultFormatName}, {ServerLogSettings.Iso8601FormatName}");

    public static InferenceError Unknown(string name) => new(ErrorCode.InvalidArgument,
        $"unknown log setting '{name}'; valid: {LogInfo}, {LogWarning}, {LogError}, {LogVerboseLevel}, {LogFormatName}");

    public void ApplyTo(ServerLogSettings settings)
    {
        if (Info is { } info)
        {
            settings.Info = info;
        }
        if (Warning is { } warning)
        {
            settings.Warning = warning;
        }
        if (Error is { } error)
        {
            settings.Error = error;
        }
        if (VerboseLevel is { } verbose)
        {
            settings.VerboseLevel = verbose;
        }
        if (Format is { } format)
        {
            settings.Format = format;
        }
    }
}
