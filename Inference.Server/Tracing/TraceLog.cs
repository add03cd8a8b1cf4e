using Microsoft.Extensions.Logging;

namespace Inference.Server.Tracing;

/// <summary>Source-generated log messages of tracing.</summary>
internal static partial class TraceLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "failed writing trace file '{Path}': {Reason}")]
    public static partial void WriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Trace setting{Model} updated: {Setting}")]
    public static partial void Updated(ILogger logger, string model, string setting);
}
