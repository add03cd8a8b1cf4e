using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>
/// Request-level parameters with a meaning to the server (Triton's "priority" and "timeout"); everything else
/// passes through in <see cref="InferenceRequest.Parameters"/>.
/// </summary>
public static class RequestParameters
{
    public const string Priority = "priority";
    public const string Timeout = "timeout";

    /// <summary>Converts a priority parameter value (any integer type) to a level; rejects negatives and non-integers.</summary>
    public static Result<uint> ToPriority(object value)
    {
        var r = ToUnsigned(value, Priority);
        if (!r.IsSuccess)
        {
            return r.Error!;
        }
        return r.Value <= uint.MaxValue ? (uint)r.Value : ProtocolErrors.Invalid($"parameter '{Priority}' is out of range");
    }

    /// <summary>Converts a timeout parameter value (microseconds, any integer type).</summary>
    public static Result<ulong> ToTimeoutMicroseconds(object value) => ToUnsigned(value, Timeout);

    private static Result<ulong> ToUnsigned(object value, string name) => value switch
    {
        long l when l >= 0 => (ulong)l,
        ulong u => u,
        int i when i >= 0 => (ulong)i,
        uint u => u,
        _ => ProtocolErrors.Invalid($"parameter '{name}' must be a non-negative integer"),
    };
}
