using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Inference.Server.Core;
using Inference.Server.Protos;
using Microsoft.Extensions.Options;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Binds Triton's GRPCInferenceService for <see cref="KServeGrpcRoutes"/>: every method as generated from
/// grpc_service.proto, except that ModelInfer and ModelStreamInfer read their requests with
/// <see cref="InferRequestMarshaller"/> (raw inputs into the server's <see cref="ITensorBufferPool"/>) and go to <see cref="KServeGrpcService"/>'s
/// overloads for <see cref="PooledInferRequest"/>. Method names, paths and response encoding are unchanged. Every
/// request marshaller is guarded (<see cref="GuardedServiceBinder{TRoutes}"/>): unreadable request bytes are
/// INVALID_ARGUMENT on every method; and every method is in its --grpc-restricted-protocol group (<see cref="GrpcApiGroups"/>).
/// </summary>
internal sealed class KServeGrpcMethodProvider(KServeGrpcService service, ITensorBufferPool pool, IOptions<KServeProtocolOptions> options)
    : IServiceMethodProvider<KServeGrpcRoutes>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<KServeGrpcRoutes> context) =>
        GRPCInferenceService.BindService(new Binder(context, options.Value.GrpcRestrictions, service, InferRequestMarshaller.Create(pool)), service);

    private sealed class Binder(
        ServiceMethodProviderContext<KServeGrpcRoutes> context, RestrictedApis restricted, KServeGrpcService service, Marshaller<PooledInferRequest> requests)
        : GuardedServiceBinder<KServeGrpcRoutes>(context, restricted)
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            if (method.Name == nameof(KServeGrpcService.ModelInfer))
            {
                AddUnary(Pooled<ModelInferResponse>(method, method.ResponseMarshaller), RequestType<TRequest>(), service.ModelInfer);
                return;
            }
            base.AddMethod(method, handler);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            if (method.Name == nameof(KServeGrpcService.ModelStreamInfer))
            {
                AddDuplexStreaming(Pooled<ModelStreamInferResponse>(method, method.ResponseMarshaller), RequestType<TRequest>(), service.ModelStreamInfer);
                return;
            }
            base.AddMethod(method, handler);
        }

        /// <summary>The same method (type, service, name, response marshaller) reading <see cref="PooledInferRequest"/>.</summary>
        private Method<PooledInferRequest, TResponse> Pooled<TResponse>(IMethod method, object responseMarshaller)
            where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, requests, (Marshaller<TResponse>)responseMarshaller);
    }
}

/// <summary>The type the KServe gRPC routes are mapped on (Grpc.AspNetCore maps services by type); it has no state:
/// <see cref="KServeGrpcMethodProvider"/> binds the methods to <see cref="KServeGrpcService"/>.</summary>
public sealed class KServeGrpcRoutes;
