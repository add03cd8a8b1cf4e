using Microsoft.Extensions.Logging;

namespace Inference.Server.Caching;

internal static partial class ResponseCacheLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Warning,
        Message = "Model {Model} enables response_cache but the server has no response cache (start it with --cache-config local,size=<bytes>): its responses are not cached")]
    public static partial void NoServerCache(ILogger logger, string model);
}
