using Microsoft.Extensions.Logging;

namespace Inference.Server.Scheduling;

/// <summary>Source-generated log messages of the scheduler.</summary>
internal static partial class SchedulerLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Error,
        Message = "Model '{Model}' instance '{Instance}' failed a batch of {Requests} request(s)")]
    public static partial void ExecutionFailed(ILogger logger, string model, string instance, int requests, Exception exception);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning,
        Message = "Model '{Model}': disposing request '{RequestId}' failed")]
    public static partial void RequestDisposeFailed(ILogger logger, string model, string requestId, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug,
        Message = "Model '{Model}' scheduler stopped")]
    public static partial void Stopped(ILogger logger, string model);
}
