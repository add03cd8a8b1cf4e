using Grpc.Core;
using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>
/// The one place that maps <see cref="ErrorCode"/> to HTTP statuses and gRPC status codes, as Triton's HTTP frontend
/// (<c>HttpCodeFromError</c>: INTERNAL 500, NOT_FOUND 404, UNAVAILABLE 503, UNSUPPORTED 501, INVALID_ARG, ALREADY_EXISTS
/// and CANCELLED 400) and its gRPC frontend (each TRITONSERVER_Error code to the gRPC code of the same name, UNSUPPORTED to
/// UNIMPLEMENTED). <see cref="ErrorCode.NotReady"/> and <see cref="ErrorCode.Timeout"/> are Triton's UNAVAILABLE.
/// </summary>
public static class ProtocolErrors
{
    public static int ToHttpStatus(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.NotReady => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Timeout => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Cancelled => StatusCodes.Status400BadRequest,
        ErrorCode.Unsupported => StatusCodes.Status501NotImplemented,
        ErrorCode.Internal => StatusCodes.Status500InternalServerError,
        ErrorCode.AlreadyExists => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static StatusCode ToGrpcStatusCode(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCode.InvalidArgument,
        ErrorCode.NotFound => StatusCode.NotFound,
        ErrorCode.NotReady => StatusCode.Unavailable,
        ErrorCode.Unavailable => StatusCode.Unavailable,
        ErrorCode.Timeout => StatusCode.Unavailable,
        ErrorCode.Cancelled => StatusCode.Cancelled,
        ErrorCode.Unsupported => StatusCode.Unimplemented,
        ErrorCode.Internal => StatusCode.Internal,
        ErrorCode.AlreadyExists => StatusCode.AlreadyExists,
        _ => StatusCode.Internal,
    };

    public static RpcException ToRpcException(InferenceError error) =>
        new(new Status(ToGrpcStatusCode(error.Code), error.Message));

    internal static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
