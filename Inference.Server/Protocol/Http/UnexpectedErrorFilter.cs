namespace Inference.Server.Protocol.Http;

/// <summary>
/// Last line of defence for the KServe HTTP endpoints: an exception that escapes a handler (a server bug, not bad
/// input, which handlers answer themselves) is logged and answered with 500 <c>{"error":"..."}</c> when the
/// response has not started. The reply names the request's trace identifier, which the log line carries with the
/// exception, and never the exception's message: that could hold a path of the machine or other internals that a
/// remote caller must not learn. Client disconnects are left alone.
/// </summary>
internal static partial class UnexpectedErrorFilter
{
    public static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            return await next(context);
        }
        catch (Exception e) when (!(e is OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(KServeHttpEndpoints));
            LogUnexpected(logger, http.Request.Method, http.Request.Path, http.TraceIdentifier, e);
            if (!http.Response.HasStarted)
            {
                http.Response.Clear();
                await HttpJson.WriteErrorAsync(http.Response, StatusCodes.Status500InternalServerError,
                    $"internal error (request {http.TraceIdentifier}; the server's log has the details)");
            }
            // Handled: an empty IResult, so the handler pipeline writes nothing more.
            return Results.Empty;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Unhandled exception in {Method} {Path} (request {RequestId})")]
    private static partial void LogUnexpected(ILogger logger, string method, string path, string requestId, Exception exception);
}
