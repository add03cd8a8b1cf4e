using Inference.Server.Core;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>
/// The sequence parameters of one request as Triton's front-ends read them: <c>sequence_id</c> (an unsigned integer
/// or a string), <c>sequence_start</c> and <c>sequence_end</c> (booleans). The front-ends pass them through in
/// <see cref="InferenceRequest.Parameters"/>; the sequence batcher reads them here.
/// </summary>
public readonly record struct SequenceRequestFlags(SequenceId Id, bool Start, bool End)
{
    public const string SequenceIdParameter = "sequence_id";
    public const string SequenceStartParameter = "sequence_start";
    public const string SequenceEndParameter = "sequence_end";

    /// <summary>Reads the flags; a value of the wrong type is an error with Triton's wording. A missing id is
    /// <see cref="SequenceId.InSequence"/> false (the caller rejects it).</summary>
    public static Result<SequenceRequestFlags> Read(InferenceRequest request)
    {
        var parameters = request.Parameters;
        if (parameters is null)
        {
            return new SequenceRequestFlags(default, false, false);
        }
        var id = SequenceId.FromNumber(0);
        if (parameters.TryGetValue(SequenceIdParameter, out var raw))
        {
            switch (raw)
            {
                case long l when l >= 0: id = SequenceId.FromNumber((ulong)l); break;
                case ulong u: id = SequenceId.FromNumber(u); break;
                case int i when i >= 0: id = SequenceId.FromNumber((ulong)i); break;
                case uint u: id = SequenceId.FromNumber(u); break;
                case string s when s.Length > MaxStringIdLength:
                    return new InferenceError(ErrorCode.InvalidArgument, "string correlation ID cannot be longer than 128 characters");
                case string s: id = SequenceId.FromString(s); break;
                default:
                    return new InferenceError(ErrorCode.InvalidArgument,
                        "invalid value type for 'sequence_id' parameter, expected a non-negative integer or a string");
            }
        }
        var start = ReadBool(parameters, SequenceStartParameter);
        if (!start.IsSuccess)
        {
            return start.Error!;
        }
        var end = ReadBool(parameters, SequenceEndParameter);
        if (!end.IsSuccess)
        {
            return end.Error!;
        }
        return new SequenceRequestFlags(id, start.Value, end.Value);
    }

    /// <summary>Triton's limit on string correlation ids.</summary>
    public const int MaxStringIdLength = 128;

    private static Result<bool> ReadBool(Dictionary<string, object> parameters, string name)
    {
        if (!parameters.TryGetValue(name, out var raw))
        {
            return false;
        }
        return raw is bool b
            ? b
            : new InferenceError(ErrorCode.InvalidArgument, $"invalid value type for '{name}' parameter, expected a boolean");
    }
}
