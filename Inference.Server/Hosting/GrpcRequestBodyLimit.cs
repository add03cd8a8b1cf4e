using Microsoft.AspNetCore.Http.Features;

namespace Inference.Server.Hosting;

/// <summary>
/// Lifts Kestrel's MaxRequestBodySize for gRPC requests, whose size limit is per message and enforced by gRPC
/// itself (GrpcServiceOptions.MaxReceiveMessageSize, set from the same --max-request-body-bytes). Without this a
/// unary message within the gRPC limit still fails as "Unknown" once its HTTP/2 body, which adds a 5-byte frame
/// header, passes Kestrel's limit; with it an oversized message is gRPC's RESOURCE_EXHAUSTED. Each message's declared
/// length is checked as it arrives (<see cref="GrpcFrameLengthGuard"/>), since gRPC's own check stops at 2 GiB.
/// </summary>
public static class GrpcRequestBodyLimit
{
    public static IApplicationBuilder UseGrpcMessageLimitOnly(this IApplicationBuilder app, long maxMessageBytes) =>
        app.Use((context, next) =>
        {
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
            {
                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                {
                    limit.MaxRequestBodySize = null;
                }
                GrpcFrameLengthGuard.Install(context.Features, maxMessageBytes);
            }
            return next(context);
        });
}
