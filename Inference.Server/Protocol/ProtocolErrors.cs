using Grpc.Core;
using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>
/// The one place that maps <see cref="ErrorCode"/> to HTTP statuses and gRPC status codes (Triton's mapping).
/// </summary>
public static class ProtocolErrors
{
    /// <summary>Nginx's "client closed request": Triton reports cancellations with it.</summary>
    public const int ClientClosedRequest = 499;

    public static int ToHttpStatus(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.NotReady => StatusCodes.Status400BadRequest,
        ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Timeout => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Cancelled => ClientClosedRequest,
        ErrorCode.Unsupported => StatusCodes.Status400BadRequest,
        ErrorCode.Internal => StatusCodes.Status500InternalServerError,
        ErrorCode.AlreadyExists => StatusCodes.Status409Conflict,
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
