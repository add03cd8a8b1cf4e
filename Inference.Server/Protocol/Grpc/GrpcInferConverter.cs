using Google.Protobuf;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Converts ModelInferRequest to <see cref="InferenceRequest"/> and <see cref="InferenceResponse"/> to
/// ModelInferResponse. <c>raw_input_contents</c> are wrapped without copying (<see cref="ByteString.Memory"/>;
/// the tensor owner is null): ByteStrings are immutable managed memory, so the data stays valid for as long as
/// anything references it, even past the call. Typed <c>contents</c> are copied once into a
/// <see cref="PooledBuffer"/>. Responses always use <c>raw_output_contents</c> (as Triton); each output is copied
/// once into a ByteString because the message is serialized after the response's pooled buffers are returned.
/// Stateless; thread-safe.
/// </summary>
public static class GrpcInferConverter
{
    public const string ClassificationParameter = "classification";

    public static Result<InferenceRequest> ToRequest(ModelInferRequest message, CancellationToken cancellationToken, long receivedTimestamp)
    {
        var version = VersionParser.Parse(message.ModelVersion);
        if (!version.IsSuccess)
        {
            return version.Error!;
        }
        var raw = message.RawInputContents;
        if (raw.Count > 0 && raw.Count != message.Inputs.Count)
        {
            return ProtocolErrors.Invalid(
                $"expected {message.Inputs.Count} raw_input_contents (one per input), got {raw.Count}");
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
            var tensor = ToTensor(message.Inputs[i], raw.Count > 0 ? raw[i] : null);
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
            message.RawOutputContents.Add(ByteString.CopyFrom(output.Data.Span));
        }
        return message;
    }

    private static Result<InferTensor> ToTensor(ModelInferRequest.Types.InferInputTensor input, ByteString? raw)
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
        if (raw is not null)
        {
            if (input.Contents is not null)
            {
                return ProtocolErrors.Invalid($"input '{input.Name}' sets both 'contents' and raw_input_contents");
            }
            var error = TensorWireChecks.CheckRawSize(input.Name, type, count.Value, raw.Span);
            return error is null ? new InferTensor(input.Name, type, shape, raw.Memory) : error;
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
