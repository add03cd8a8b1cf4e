namespace Inference.Server.Core;

/// <summary>Triton's error classes. Front-ends map them to HTTP statuses and gRPC codes in one place each.</summary>
public enum ErrorCode
{
    /// <summary>Bad input: HTTP 400, gRPC INVALID_ARGUMENT.</summary>
    InvalidArgument,
    /// <summary>Unknown model or version: HTTP 404, gRPC NOT_FOUND.</summary>
    NotFound,
    /// <summary>A model version known but not ready (Triton's UNAVAILABLE): HTTP 503, gRPC UNAVAILABLE.</summary>
    NotReady,
    /// <summary>Overload (queue full) or shutting down: HTTP 503, gRPC UNAVAILABLE.</summary>
    Unavailable,
    /// <summary>Queue timeout expired (action REJECT), as Triton: HTTP 503, gRPC UNAVAILABLE.</summary>
    Timeout,
    /// <summary>The client cancelled: HTTP 400 (as Triton), gRPC CANCELLED.</summary>
    Cancelled,
    /// <summary>Feature not supported: HTTP 501, gRPC UNIMPLEMENTED.</summary>
    Unsupported,
    /// <summary>Backend or server failure: HTTP 500, gRPC INTERNAL.</summary>
    Internal,
    /// <summary>The name is taken (a shared memory region registered twice): HTTP 400 (as Triton), gRPC ALREADY_EXISTS.</summary>
    AlreadyExists,
}

/// <summary>An expected failure, returned as a value (never thrown on the hot path).</summary>
public sealed record InferenceError(ErrorCode Code, string Message)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>Either a response or an error.</summary>
public readonly struct InferenceResult
{
    private InferenceResult(InferenceResponse? response, InferenceError? error)
    {
        Response = response;
        Error = error;
    }

    public InferenceResponse? Response { get; }

    public InferenceError? Error { get; }

    public bool IsSuccess => Response is not null;

    public static InferenceResult Success(InferenceResponse response) => new(response, null);

    public static InferenceResult Failure(InferenceError error) => new(null, error);

    public static InferenceResult Failure(ErrorCode code, string message) => new(null, new InferenceError(code, message));

    public static implicit operator InferenceResult(InferenceError error) => Failure(error);
}
