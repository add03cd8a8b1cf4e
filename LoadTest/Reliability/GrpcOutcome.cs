using Grpc.Core;

namespace LoadTest.Reliability;

/// <summary>
/// What one gRPC call got: the status the server sent and its message, or, when the call failed on the client side
/// (no status from the server: a reset, a refused connection, the suite's own timeout), why.
/// </summary>
public sealed record GrpcOutcome(StatusCode? Status, string Message, string? Transport)
{
    /// <summary>A non-OK status other than UNKNOWN or INTERNAL, with a message: what every bad request must get.</summary>
    public bool IsCleanRejection => Status is { } s && s is not (StatusCode.OK or StatusCode.Unknown or StatusCode.Internal) && Message.Length > 0;

    /// <summary>UNKNOWN or INTERNAL: the server failed rather than judged the request.</summary>
    public bool IsServerError => Status is StatusCode.Unknown or StatusCode.Internal;

    public bool IsLost => Status is null;

    public static GrpcOutcome Ok() => new(StatusCode.OK, "", null);

    public static GrpcOutcome Timeout() => new(null, "", "timeout");

    /// <summary>Sorts an <see cref="RpcException"/> into a status the server sent or a client-side failure
    /// (Grpc.Net.Client attaches a DebugException to statuses it made up itself).</summary>
    public static GrpcOutcome From(RpcException e, bool timedOut)
    {
        if (timedOut)
        {
            return Timeout();
        }
        return e.Status.DebugException is { } debug
            ? new GrpcOutcome(null, e.Status.Detail, $"transport: {e.StatusCode} {debug.GetType().Name}: {debug.Message}")
            : new GrpcOutcome(e.StatusCode, e.Status.Detail, null);
    }

    public string Describe() => Status is { } s ? $"{s} {HttpOutcome.Shorten(Message, 200)}" : Transport ?? "no status";
}
