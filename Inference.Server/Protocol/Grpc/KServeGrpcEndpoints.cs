namespace Inference.Server.Protocol.Grpc;

/// <summary>Maps the KServe v2 gRPC service and gRPC health checking.</summary>
public static class KServeGrpcEndpoints
{
    public static IEndpointRouteBuilder MapKServeGrpc(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<KServeGrpcRoutes>();
        app.MapGrpcService<HealthGrpcRoutes>();
        return app;
    }
}
