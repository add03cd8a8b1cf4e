using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Binds a generated gRPC service (pass it to the service's static <c>BindService(ServiceBinderBase, ...)</c>) onto
/// the routes type <typeparamref name="TRoutes"/> of an <see cref="IServiceMethodProvider{TService}"/>: every method
/// as generated (name, path, handler, response marshaller) but with its request marshaller behind
/// <see cref="RequestDeserializationGuard"/>, so that request bytes protobuf cannot read are INVALID_ARGUMENT on every
/// method, methods added to the protos later included. A subclass binds chosen methods its own way by overriding an
/// AddMethod and calling the protected Add methods, which guard too. Every method also belongs to an API group
/// (<see cref="GrpcApiGroups"/>); a method of a group in <paramref name="restricted"/> refuses calls without the
/// group's metadata key and value (PERMISSION_DENIED) before its handler runs; the others are bound unwrapped.
/// </summary>
internal class GuardedServiceBinder<TRoutes>(ServiceMethodProviderContext<TRoutes> context, RestrictedApis restricted) : ServiceBinderBase
    where TRoutes : class
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        AddUnary(method, RequestType<TRequest>(), handler!);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        context.AddClientStreamingMethod(RequestDeserializationGuard.Guard(method, RequestType<TRequest>()), [],
            restricted.For(GrpcApiGroups.Of(method)) is { } r
                ? (_, requests, call) => GrpcApiGroups.Refusal(r, call) is { } e ? Task.FromException<TResponse>(e) : handler!(requests, call)
                : (_, requests, call) => handler!(requests, call));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        context.AddServerStreamingMethod(RequestDeserializationGuard.Guard(method, RequestType<TRequest>()), [],
            restricted.For(GrpcApiGroups.Of(method)) is { } r
                ? (_, request, responses, call) => GrpcApiGroups.Refusal(r, call) is { } e ? Task.FromException(e) : handler!(request, responses, call)
                : (_, request, responses, call) => handler!(request, responses, call));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        AddDuplexStreaming(method, RequestType<TRequest>(), handler!);

    /// <summary>The name errors give the request type of a generated method: the message's name.</summary>
    protected static string RequestType<TRequest>() => typeof(TRequest).Name;

    protected void AddUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, string requestType, UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class
        where TResponse : class =>
        context.AddUnaryMethod(RequestDeserializationGuard.Guard(method, requestType), [],
            restricted.For(GrpcApiGroups.Of(method)) is { } r
                ? (_, request, call) => GrpcApiGroups.Refusal(r, call) is { } e ? Task.FromException<TResponse>(e) : handler(request, call)
                : (_, request, call) => handler(request, call));

    protected void AddDuplexStreaming<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string requestType, DuplexStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : class
        where TResponse : class =>
        context.AddDuplexStreamingMethod(RequestDeserializationGuard.Guard(method, requestType), [],
            restricted.For(GrpcApiGroups.Of(method)) is { } r
                ? (_, requests, responses, call) => GrpcApiGroups.Refusal(r, call) is { } e ? Task.FromException(e) : handler(requests, responses, call)
                : (_, requests, responses, call) => handler(requests, responses, call));
}
