using Google.Protobuf;
using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// Converts a received ModelInferRequest (<see cref="PooledInferRequest"/>) to <see cref="InferenceRequest"/> and
/// <see cref="InferenceResponse"/> to ModelInferResponse. Each raw input's pooled buffer becomes its tensor's owner
/// (no copy); typed <c>contents</c> are copied once into a <see cref="PooledBuffer"/>. Responses always use
/// <c>raw_output_contents</c> (as Triton), wrapping the response's buffers without copying: the caller keeps the
/// response alive until the message is serialized. Inputs and outputs with Triton's <c>shared_memory_*</c> parameters
/// are resolved against the server's <see cref="SharedMemoryManager"/>; <c>raw_input_contents</c> then holds one entry
/// per input that is not in shared memory, and a shared memory output's <c>raw_output_contents</c> entry is empty (as
/// Triton). Request parameters starting with <c>triton_</c> are reserved: only
/// <see cref="EnableEmptyFinalResponseParameter"/> is accepted (a bool). Stateless; thread-safe.
/// </summary>
public static class GrpcInferConverter
{
    public const string ClassificationParameter = "classification";

    /// <summary>Triton's one allowed <c>triton_</c> request parameter: ask for an empty final response on a stream.</summary>
    public const string EnableEmptyFinalResponseParameter = "triton_enable_empty_final_response";

    /// <summary>The stream response parameter that marks a request's last response.</summary>
    public const string FinalResponseParameter = "triton_final_response";

    public static Result<InferenceRequest> ToRequest(PooledInferRequest received, CancellationToken cancellationToken, long receivedTimestamp) =>
        ToRequest(received, cancellationToken, receivedTimestamp, null, ArrayTensorBufferPool.Instance, out _);

    /// <summary>As <see cref="ToRequest(PooledInferRequest, CancellationToken, long)"/>; <paramref name="sharedMemoryOutputs"/>
    /// receives the outputs that go into shared memory (null when none), which the caller writes after inference and then
    /// disposes.</summary>
    public static Result<InferenceRequest> ToRequest(
        PooledInferRequest received, CancellationToken cancellationToken, long receivedTimestamp,
        SharedMemoryManager? sharedMemory, ITensorBufferPool pool, out SharedMemoryOutputs? sharedMemoryOutputs)
    {
        sharedMemoryOutputs = null;
        var message = received.Message;
        var version = VersionParser.Parse(message.ModelVersion);
        if (!version.IsSuccess)
        {
            return version.Error!;
        }
        var rawCount = received.RawCount;
        var rawNeeded = 0;
        foreach (var input in message.Inputs)
        {
            rawNeeded += input.Parameters.ContainsKey(SharedMemoryTensors.RegionParameter) ? 0 : 1;
        }
        if (rawCount > 0 && rawCount != rawNeeded)
        {
            return ProtocolErrors.Invalid(
                $"expected {rawNeeded} raw_input_contents (one per input not in shared memory), got {rawCount}");
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
            else if (key.StartsWith("triton_", StringComparison.Ordinal))
            {
                if (key != EnableEmptyFinalResponseParameter)
                {
                    return ProtocolErrors.Invalid(
                        $"parameter keys starting with 'triton_' are reserved for Triton usage. Only the following keys starting with 'triton_' are allowed: {EnableEmptyFinalResponseParameter}");
                }
                if (value is not bool)
                {
                    return ProtocolErrors.Invalid($"invalid value type for '{key}' parameter, expected bool_param.");
                }
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
        var rawIndex = 0;
        for (var i = 0; i < message.Inputs.Count; i++)
        {
            var input = message.Inputs[i];
            var shm = SharedMemoryParameters(input.Name, input.Parameters);
            if (!shm.IsSuccess)
            {
                request.Dispose();
                return shm.Error!;
            }
            var tensor = shm.Value is { } where
                ? ToSharedMemoryTensor(input, where, sharedMemory, pool)
                : ToTensor(input, received, rawCount > 0 ? rawIndex++ : -1);
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
            var shm = SharedMemoryParameters(output.Name, output.Parameters);
            var error = shm.Error;
            if (error is null && shm.Value is { } where)
            {
                error = classification > 0
                    ? ProtocolErrors.Invalid("output can't set both 'shared_memory_region' and 'classification'")
                    : (sharedMemoryOutputs ??= new SharedMemoryOutputs()).Add(sharedMemory, output.Name, where);
            }
            if (error is not null)
            {
                sharedMemoryOutputs?.Dispose();
                sharedMemoryOutputs = null;
                request.Dispose();
                return error;
            }
            request.Outputs.Add(new RequestedOutput(output.Name, classification));
        }
        return request;
    }

    /// <summary>Triton's checks of a tensor's <c>shared_memory_*</c> parameters: null when it has none.</summary>
    private static Result<SharedMemoryReference?> SharedMemoryParameters(string tensor, Google.Protobuf.Collections.MapField<string, InferParameter> parameters)
    {
        string? region = null;
        if (parameters.TryGetValue(SharedMemoryTensors.RegionParameter, out var r))
        {
            if (r.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.StringParam)
            {
                return ProtocolErrors.Invalid($"invalid value type for 'shared_memory_region' parameter for tensor '{tensor}', expected string_param.");
            }
            region = r.StringParam;
        }
        var offset = 0L;
        if (parameters.TryGetValue(SharedMemoryTensors.OffsetParameter, out var o))
        {
            if (region is null)
            {
                return ProtocolErrors.Invalid($"'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor '{tensor}'");
            }
            if (o.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param || o.Int64Param < 0)
            {
                return ProtocolErrors.Invalid($"invalid value type for 'shared_memory_offset' parameter for tensor '{tensor}', expected a non-negative int64_param.");
            }
            offset = o.Int64Param;
        }
        if (!parameters.TryGetValue(SharedMemoryTensors.ByteSizeParameter, out var b))
        {
            return region is null
                ? new Result<SharedMemoryReference?>(null, null)
                : ProtocolErrors.Invalid($"'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor '{tensor}'");
        }
        if (region is null)
        {
            return ProtocolErrors.Invalid($"'shared_memory_byte_size' can not be specified without 'shared_memory_region' parameter for tensor '{tensor}'");
        }
        if (b.ParameterChoiceCase != InferParameter.ParameterChoiceOneofCase.Int64Param || b.Int64Param < 0)
        {
            return ProtocolErrors.Invalid($"invalid value type for 'shared_memory_byte_size' parameter for tensor '{tensor}', expected a non-negative int64_param.");
        }
        return new SharedMemoryReference(region, (ulong)offset, (ulong)b.Int64Param);
    }

    private static Result<InferTensor> ToSharedMemoryTensor(
        ModelInferRequest.Types.InferInputTensor input, SharedMemoryReference where, SharedMemoryManager? sharedMemory, ITensorBufferPool pool)
    {
        if (!DataTypes.TryParseWireName(input.Datatype, out var type))
        {
            return ProtocolErrors.Invalid($"input '{input.Name}' has unknown datatype '{input.Datatype}'");
        }
        if (input.Contents is not null)
        {
            return ProtocolErrors.Invalid($"unexpected 'content' provided when using shared memory for input tensor '{input.Name}'");
        }
        var shape = input.Shape.ToArray();
        var count = TensorWireChecks.ElementCount(input.Name, shape);
        return count.IsSuccess
            ? SharedMemoryTensors.Input(sharedMemory, pool, input.Name, type, shape, count.Value, where)
            : count.Error!;
    }

    /// <summary>The reply; it references <paramref name="response"/>'s buffers, so dispose the response only after
    /// the reply is written.</summary>
    public static ModelInferResponse ToMessage(InferenceResponse response, SharedMemoryOutputs? sharedMemory = null)
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
            if (sharedMemory?.For(output.Name) is { } window)
            {
                tensor.Parameters[SharedMemoryTensors.RegionParameter] = new InferParameter { StringParam = window.RegionName };
                tensor.Parameters[SharedMemoryTensors.ByteSizeParameter] = new InferParameter { Int64Param = output.Data.Length };
                if (window.Offset != 0)
                {
                    tensor.Parameters[SharedMemoryTensors.OffsetParameter] = new InferParameter { Int64Param = (long)window.Offset };
                }
                message.RawOutputContents.Add(ByteString.Empty);
                continue;
            }
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
