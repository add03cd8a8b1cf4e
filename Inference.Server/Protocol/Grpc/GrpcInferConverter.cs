using Google.Protobuf;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Converts a received ModelInferRequest (<see cref="PooledInferRequest"/>) to <see cref="InferenceRequest"/> and
/// <see cref="InferenceResponse"/> to ModelInferResponse. Each raw input's pooled buffer becomes its tensor's owner
/// (no copy); typed <c>contents</c> are copied once into a <see cref="PooledBuffer"/>. Responses always use
/// <c>raw_output_contents</c> (as Triton), wrapping the response's buffers without copying: the caller keeps the
/// response alive until the message is serialized. Stateless; thread-safe.
/// </summary>
public static class GrpcInferConverter
{
    public const string ClassificationParameter = "classification";

    public static Result<InferenceRequest> ToRequest(PooledInferRequest received, CancellationToken cancellationToken, long receivedTimestamp)
    {
        var message = received.Message;
        var version = VersionParser.Parse(message.ModelVersion);
        if (!version.IsSuccess)
        {
            return version.Error!;
        }
        var rawCount = received.RawCount;
        if (rawCount > 0 && rawCount != message.Inputs.Count)
        {
            return ProtocolErrors.Invalid(
                $"expected {message.Inputs.Count} raw_input_contents (one per input), got {rawCount}");
        }
        uint priority = 0;
        ulong timeout = 0;
        Dictionary<string, object>? parameters = null;
        foreach (var (key, p) in message.Parameters)
        {
            var value = ToObject(p);
            if (value is null)
            {
                return ProtocolErrors.Invalid($"parameter '{key}' has no value");
            }
            if (key == RequestParameters.Priority)
            {
                var r = RequestParameters.ToPriority(value);
                if (!r.IsSuccess)
                {
                    return r.Error!;
                }
                priority = r.Value;
            }
            else if (key == RequestParameters.Timeout)
            {
                var r = RequestParameters.ToTimeoutMicroseconds(value);
                if (!r.IsSuccess)
                {
                    return r.Error!;
                }
                timeout = r.Value;
            }
            else
            {
                (parameters ??= new Dictionary<string, object>(StringComparer.Ordinal))[key] = value;
            }
        }
        var request = new InferenceRequest
        {
            ModelName = message.ModelName,
            ModelVersion = version.Value,
            Id = message.Id,
            Priority = priority,
            TimeoutMicroseconds = timeout,
            Parameters = parameters,
            CancellationToken = cancellationToken,
            ReceivedTimestamp = receivedTimestamp,
        };
        for (var i = 0; i < message.Inputs.Count; i++)
        {
            var tensor = ToTensor(message.Inputs[i], received, rawCount > 0 ? i : -1);
            if (!tensor.IsSuccess)
            {
                request.Dispose();
                return tensor.Error!;
            }
            request.Inputs.Add(tensor.Value!);
        }
        foreach (var output in message.Outputs)
        {
            var classification = 0;
            if (output.Parameters.TryGetValue(ClassificationParameter, out var c))
            {
                var n = ToObject(c) switch
                {
                    long l => l,
                    ulong u when u <= int.MaxValue => (long)u,
                    _ => -1,
                };
                if (n is < 0 or > int.MaxValue)
                {
                    request.Dispose();
                    return ProtocolErrors.Invalid($"output '{output.Name}': parameter 'classification' must be a non-negative integer");
                }
                classification = (int)n;
            }
            if (output.Parameters.ContainsKey("shared_memory_region"))
            {
                request.Dispose();
                return new InferenceError(ErrorCode.Unsupported, "shared memory outputs are not supported");
            }
            request.Outputs.Add(new RequestedOutput(output.Name, classification));
        }
        return request;
    }

    /// <summary>The reply; it references <paramref name="response"/>'s buffers, so dispose the response only after
    /// the reply is written.</summary>
    public static ModelInferResponse ToMessage(InferenceResponse response)
    {
        var message = new ModelInferResponse
        {
            ModelName = response.ModelName,
            ModelVersion = response.ModelVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Id = response.Id,
        };
        foreach (var output in response.Outputs)
        {
            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ToWireName() };
            tensor.Shape.Add(output.Shape);
            message.Outputs.Add(tensor);
            message.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(output.Data));
        }
        return message;
    }

    /// <param name="rawIndex">The raw input to use, or -1 when the request has no raw_input_contents.</param>
    private static Result<InferTensor> ToTensor(ModelInferRequest.Types.InferInputTensor input, PooledInferRequest received, int rawIndex)
    {
        if (!DataTypes.TryParseWireName(input.Datatype, out var type))
        {
            return ProtocolErrors.Invalid($"input '{input.Name}' has unknown datatype '{input.Datatype}'");
        }
        if (input.Parameters.ContainsKey("shared_memory_region"))
        {
            return new InferenceError(ErrorCode.Unsupported, "shared memory inputs are not supported");
        }
        var shape = input.Shape.ToArray();
        var count = TensorWireChecks.ElementCount(input.Name, shape);
        if (!count.IsSuccess)
        {
            return count.Error!;
        }
        if (rawIndex >= 0)
        {
            if (input.Contents is not null)
            {
                return ProtocolErrors.Invalid($"input '{input.Name}' sets both 'contents' and raw_input_contents");
            }
            var error = TensorWireChecks.CheckRawSize(input.Name, type, count.Value, received.Raw(rawIndex).Span);
            if (error is not null)
            {
                return error;
            }
            var raw = received.TakeRaw(rawIndex);
            return new InferTensor(input.Name, type, shape, raw.Memory, raw);
        }
        if (input.Contents is null)
        {
            return ProtocolErrors.Invalid($"input '{input.Name}' has neither 'contents' nor raw_input_contents");
        }
        var decoded = TypedContentsDecoder.Decode(input.Name, type, count.Value, input.Contents);
        if (!decoded.IsSuccess)
        {
            return decoded.Error!;
        }
        var buffer = decoded.Value!;
        return new InferTensor(input.Name, type, shape, buffer.Memory, buffer);
    }

    private static object? ToObject(InferParameter p) => p.ParameterChoiceCase switch
    {
        InferParameter.ParameterChoiceOneofCase.BoolParam => p.BoolParam,
        InferParameter.ParameterChoiceOneofCase.Int64Param => p.Int64Param,
        InferParameter.ParameterChoiceOneofCase.StringParam => p.StringParam,
        InferParameter.ParameterChoiceOneofCase.DoubleParam => p.DoubleParam,
        InferParameter.ParameterChoiceOneofCase.Uint64Param => p.Uint64Param,
        _ => null,
    };
}
