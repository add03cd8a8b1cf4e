using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.HealthCheck;
using Inference.Server.Core;
using Inference.Server.Protocol.Grpc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol;

/// <summary>Registers what the KServe v2 front-ends need; the host registers the IInferenceServer.</summary>
public static class KServeProtocolServiceCollectionExtensions
{
    public static IServiceCollection AddKServeProtocol(this IServiceCollection services, Action<KServeProtocolOptions>? configure = null)
    {
        var options = services.AddOptions<KServeProtocolOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        // Inference payloads are large: raise gRPC's 4 MiB default on purpose, to the same 64 MiB as HTTP bodies.
        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<KServeProtocolOptions>>((grpc, kserve) =>
        {
            grpc.MaxReceiveMessageSize = kserve.Value.MaxMessageBytes;
            grpc.MaxSendMessageSize = kserve.Value.MaxMessageBytes;
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITensorBufferPool>(ArrayTensorBufferPool.Instance);
        services.TryAddSingleton<SharedMemory.SharedMemoryManager>();
        services.TryAddSingleton<KServeGrpcService>();
        services.TryAddSingleton<KServeGrpcRoutes>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<KServeGrpcRoutes>, KServeGrpcMethodProvider>());
        services.TryAddSingleton<HealthServiceImpl>();
        services.TryAddSingleton<ReadinessHealthService>();
        services.TryAddSingleton<HealthGrpcRoutes>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<HealthGrpcRoutes>, HealthGrpcMethodProvider>());
        services.AddHostedService<HealthRefreshService>();
        return services;
    }
}
