using Grpc.AspNetCore.Server.Model;
using Grpc.Health.V1;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Binds <c>grpc.health.v1.Health</c> for <see cref="HealthGrpcRoutes"/> to <see cref="ReadinessHealthService"/>
/// through <see cref="GuardedServiceBinder{TRoutes}"/>, so that its unreadable requests are INVALID_ARGUMENT like
/// those of the KServe service, and its methods are in the health group of --grpc-restricted-protocol.
/// </summary>
internal sealed class HealthGrpcMethodProvider(ReadinessHealthService health, IOptions<KServeProtocolOptions> options) : IServiceMethodProvider<HealthGrpcRoutes>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<HealthGrpcRoutes> context) =>
        Health.BindService(new GuardedServiceBinder<HealthGrpcRoutes>(context, options.Value.GrpcRestrictions), health);
}

/// <summary>The type the gRPC health routes are mapped on; it has no state: <see cref="HealthGrpcMethodProvider"/>
/// binds the methods to <see cref="ReadinessHealthService"/>.</summary>
public sealed class HealthGrpcRoutes;
