using Grpc.Core;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Makes a request that cannot be read the client's error. Grpc.AspNetCore deserializes a request before its handler
/// runs and answers any exception but <see cref="RpcException"/> with UNKNOWN "Exception was thrown by handler.";
/// a guarded request marshaller turns whatever its deserializer throws on the received bytes
/// (Google.Protobuf's InvalidProtocolBufferException for a truncated or malformed message, or for a string field
/// that is not UTF-8) into INVALID_ARGUMENT <c>malformed {request type}: {reason}</c>. An RpcException from the
/// deserializer (a marshaller's own status, as <see cref="InferRequestMarshaller"/> throws) and
/// <see cref="OutOfMemoryException"/> pass through unchanged. Serialization is untouched. Stateless; thread-safe.
/// </summary>
internal static class RequestDeserializationGuard
{
    /// <summary><paramref name="method"/> with its request marshaller guarded; <paramref name="requestType"/> names
    /// the message in errors (e.g. "ModelReadyRequest").</summary>
    public static Method<TRequest, TResponse> Guard<TRequest, TResponse>(Method<TRequest, TResponse> method, string requestType)
        where TRequest : class
        where TResponse : class =>
        new(method.Type, method.ServiceName, method.Name, Guard(method.RequestMarshaller, requestType), method.ResponseMarshaller);

    /// <summary><paramref name="marshaller"/> whose deserializer fails only with <see cref="RpcException"/>.</summary>
    public static Marshaller<T> Guard<T>(Marshaller<T> marshaller, string requestType)
    {
        var deserialize = marshaller.ContextualDeserializer;
        return new Marshaller<T>(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (Exception e) when (e is not (RpcException or OutOfMemoryException))
            {
                throw Malformed(requestType, e.Message);
            }
        });
    }

    /// <summary>INVALID_ARGUMENT <c>malformed {requestType}: {detail}</c>.</summary>
    public static RpcException Malformed(string requestType, string detail) =>
        new(new Status(StatusCode.InvalidArgument, $"malformed {requestType}: {detail}"));
}
