using Inference.Server.Telemetry;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Triton's replies for requests no handler answers: an unknown path is 404 <c>{"error":"Not Found"}</c> and a known
/// path with another method is 405 <c>{"error":"Method Not Allowed"}</c> (routing's own answers have no body, which
/// Triton's clients report as an empty response). Only bodiless 404 and 405 answers that have not started are
/// replaced, so handlers' own replies, gRPC calls and the metrics port are left as they are.
/// </summary>
public static class RouteErrorReplies
{
    public static IApplicationBuilder UseKServeRouteErrorReplies(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            await next(context);
            var response = context.Response;
            if (response.HasStarted
                || response.StatusCode is not (StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed)
                || response.ContentLength is > 0
                || response.ContentType is not null
                || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true
                || MetricsListener.IsMetricsConnection(context))
            {
                return;
            }
            await HttpJson.WriteErrorAsync(response, response.StatusCode,
                response.StatusCode == StatusCodes.Status404NotFound ? "Not Found" : "Method Not Allowed");
        });
}
