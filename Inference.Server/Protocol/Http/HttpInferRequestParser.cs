using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Parses a KServe v2 infer request body: the JSON header (the first <c>headerLength</c> bytes) and, with the
/// binary tensor data extension, the inputs' raw bytes after it in the order of the inputs that carry
/// <c>binary_data_size</c>. Binary inputs are slices of <paramref name="body"/> (no copy; each tensor holds a lease);
/// JSON <c>data</c> is decoded into its own pooled buffer; shared memory inputs and outputs (Triton's
/// <c>shared_memory_region</c>, <c>shared_memory_offset</c>, <c>shared_memory_byte_size</c>) are resolved against
/// <c>sharedMemory</c> (<see cref="SharedMemoryTensors"/>, <see cref="SharedMemoryOutputs"/>). Checks only what the wire shows (text, syntax, fields,
/// datatypes, element counts, sizes); the model's rules are the server's. Every failure, bytes the JSON reader cannot
/// take included (<see cref="JsonTextCheck"/>, <see cref="JsonRequestErrors"/>), is a returned error, never an
/// exception. Stateless; thread-safe.
/// </summary>
public static class HttpInferRequestParser
{
    /// <summary>The deepest nesting of the JSON header (System.Text.Json's default).</summary>
    private const int MaxDepth = 64;

    public static Result<HttpInferRequest> Parse(
        SharedBuffer body, int headerLength, string modelName, long modelVersion, CancellationToken cancellationToken, long receivedTimestamp,
        SharedMemoryManager? sharedMemory = null, ITensorBufferPool? pool = null)
    {
        if (headerLength < 0 || headerLength > body.Length)
        {
            return ProtocolErrors.Invalid($"Inference-Header-Content-Length {headerLength} is outside the body of {body.Length} bytes");
        }
        var header = new Header();
        var json = body.Memory.Span[..headerLength];
        var text = JsonTextCheck.Check(json, MaxDepth);
        if (text is not null)
        {
            return text;
        }
        try
        {
            var error = ParseHeader(json, header);
            if (error is not null)
            {
                return error;
            }
        }
        catch (JsonException e)
        {
            return JsonRequestErrors.Malformed(e);
        }
        catch (InvalidOperationException e)
        {
            return JsonRequestErrors.Unreadable(e);
        }
        return Build(body, headerLength, header, modelName, modelVersion, cancellationToken, receivedTimestamp,
            sharedMemory, pool ?? ArrayTensorBufferPool.Instance);
    }

    private static Result<HttpInferRequest> Build(
        SharedBuffer body, int headerLength, Header header, string modelName, long modelVersion,
        CancellationToken cancellationToken, long receivedTimestamp, SharedMemoryManager? sharedMemory, ITensorBufferPool pool)
    {
        uint priority = 0;
        ulong timeout = 0;
        var parameters = header.Parameters;
        if (parameters is not null)
        {
            if (parameters.Remove(RequestParameters.Priority, out var p))
            {
                var r = RequestParameters.ToPriority(p);
                if (!r.IsSuccess)
                {
                    return r.Error!;
                }
                priority = r.Value;
            }
            if (parameters.Remove(RequestParameters.Timeout, out var t))
            {
                var r = RequestParameters.ToTimeoutMicroseconds(t);
                if (!r.IsSuccess)
                {
                    return r.Error!;
                }
                timeout = r.Value;
            }
        }
        var request = new InferenceRequest
        {
            ModelName = modelName,
            ModelVersion = modelVersion,
            Id = header.Id ?? "",
            Priority = priority,
            TimeoutMicroseconds = timeout,
            Parameters = parameters is { Count: > 0 } ? parameters : null,
            CancellationToken = cancellationToken,
            ReceivedTimestamp = receivedTimestamp,
        };
        var all = body.Memory;
        var binaryOffset = headerLength;
        foreach (var input in header.Inputs)
        {
            var tensor = BuildInput(body, all, ref binaryOffset, input, sharedMemory, pool);
            if (!tensor.IsSuccess)
            {
                request.Dispose();
                return tensor.Error!;
            }
            request.Inputs.Add(tensor.Value!);
        }
        if (binaryOffset != all.Length)
        {
            request.Dispose();
            return ProtocolErrors.Invalid(
                $"the body holds {all.Length - binaryOffset} bytes of binary data beyond the inputs' binary_data_size");
        }
        HashSet<string>? binaryOutputs = null;
        SharedMemoryOutputs? shmOutputs = null;
        foreach (var output in header.Outputs)
        {
            request.Outputs.Add(new RequestedOutput(output.Name, output.Classification));
            if (output.SharedMemory is { } where)
            {
                var error = (shmOutputs ??= new SharedMemoryOutputs()).Add(sharedMemory, output.Name, where);
                if (error is not null)
                {
                    shmOutputs.Dispose();
                    request.Dispose();
                    return error;
                }
            }
            if (output.Binary)
            {
                (binaryOutputs ??= new HashSet<string>(StringComparer.Ordinal)).Add(output.Name);
            }
        }
        return new HttpInferRequest(request, header.BinaryDataOutput, binaryOutputs) { SharedMemoryOutputs = shmOutputs };
    }

    private static Result<InferTensor> BuildInput(
        SharedBuffer body, ReadOnlyMemory<byte> all, ref int binaryOffset, InputHeader input, SharedMemoryManager? sharedMemory, ITensorBufferPool pool)
    {
        var count = TensorWireChecks.ElementCount(input.Name, input.Shape);
        if (!count.IsSuccess)
        {
            return count.Error!;
        }
        if (input.SharedMemory is { } where)
        {
            return SharedMemoryTensors.Input(sharedMemory, pool, input.Name, input.DataType, input.Shape, count.Value, where);
        }
        if (input.BinaryDataSize is { } size)
        {
            if (size > all.Length - binaryOffset)
            {
                return ProtocolErrors.Invalid(
                    $"input '{input.Name}': binary_data_size {size} exceeds the {all.Length - binaryOffset} bytes of binary data left in the body");
            }
            var slice = all.Slice(binaryOffset, (int)size);
            binaryOffset += (int)size;
            var error = TensorWireChecks.CheckRawSize(input.Name, input.DataType, count.Value, slice.Span);
            if (error is not null)
            {
                return error;
            }
            return new InferTensor(input.Name, input.DataType, input.Shape, slice, body.Lease());
        }
        var decoded = JsonTensorCodec.Decode(all.Span.Slice(input.DataStart, input.DataLength), input.Name, input.DataType, count.Value);
        if (!decoded.IsSuccess)
        {
            return decoded.Error!;
        }
        var buffer = decoded.Value!;
        return new InferTensor(input.Name, input.DataType, input.Shape, buffer.Memory, buffer);
    }

    private static InferenceError? ParseHeader(ReadOnlySpan<byte> json, Header header)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return ProtocolErrors.Invalid("the infer request must be a JSON object");
        }
        var sawInputs = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    return ProtocolErrors.Invalid("'id' must be a string");
                }
                header.Id = reader.GetString();
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                var error = ReadRequestParameters(ref reader, header);
                if (error is not null)
                {
                    return error;
                }
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                sawInputs = true;
                var error = ReadArray(ref reader, "inputs", header, ReadInput);
                if (error is not null)
                {
                    return error;
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                var error = ReadArray(ref reader, "outputs", header, ReadOutput);
                if (error is not null)
                {
                    return error;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        // Anything after the object is a syntax error the reader reports on the next Read.
        reader.Read();
        return sawInputs ? null : ProtocolErrors.Invalid("the infer request has no 'inputs'");
    }

    private delegate InferenceError? ElementReader(ref Utf8JsonReader reader, Header header, int index);

    private static InferenceError? ReadArray(ref Utf8JsonReader reader, string name, Header header, ElementReader element)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return ProtocolErrors.Invalid($"'{name}' must be an array");
        }
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return ProtocolErrors.Invalid($"'{name}[{index}]' must be an object");
            }
            var error = element(ref reader, header, index++);
            if (error is not null)
            {
                return error;
            }
        }
        return null;
    }

    private static InferenceError? ReadInput(ref Utf8JsonReader reader, Header header, int index)
    {
        string? name = null;
        string? datatype = null;
        List<long>? shape = null;
        long? binarySize = null;
        var shm = new ShmParameters();
        int dataStart = -1, dataLength = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (name is null)
                {
                    return ProtocolErrors.Invalid($"'inputs[{index}].name' must be a string");
                }
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                datatype = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (datatype is null)
                {
                    return ProtocolErrors.Invalid($"'inputs[{index}].datatype' must be a string");
                }
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                reader.Read();
                shape = [];
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return ProtocolErrors.Invalid($"'inputs[{index}].shape' must be an array of integers");
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d))
                    {
                        return ProtocolErrors.Invalid($"'inputs[{index}].shape' must be an array of integers");
                    }
                    shape.Add(d);
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return ProtocolErrors.Invalid($"'inputs[{index}].parameters' must be an object");
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data_size"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var size) || size < 0 || size > int.MaxValue)
                        {
                            return ProtocolErrors.Invalid($"'inputs[{index}].parameters.binary_data_size' must be a non-negative integer");
                        }
                        binarySize = size;
                    }
                    else if (ShmParameters.IsOne(ref reader))
                    {
                        var error = shm.Read(ref reader, $"inputs[{index}]");
                        if (error is not null)
                        {
                            return error;
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                dataStart = (int)reader.TokenStartIndex;
                reader.Skip();
                dataLength = (int)reader.BytesConsumed - dataStart;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        var where = name is null ? $"inputs[{index}]" : $"input '{name}'";
        if (name is null)
        {
            return ProtocolErrors.Invalid($"inputs[{index}] is missing 'name'");
        }
        if (datatype is null)
        {
            return ProtocolErrors.Invalid($"{where} is missing 'datatype'");
        }
        if (!DataTypes.TryParseWireName(datatype, out var type))
        {
            return ProtocolErrors.Invalid($"{where} has unknown datatype '{datatype}'");
        }
        if (shape is null)
        {
            return ProtocolErrors.Invalid($"{where} is missing 'shape'");
        }
        var shmError = shm.Check(name);
        if (shmError is not null)
        {
            return shmError;
        }
        var sources = (dataStart >= 0 ? 1 : 0) + (binarySize.HasValue ? 1 : 0) + (shm.Region is null ? 0 : 1);
        if (sources != 1)
        {
            return ProtocolErrors.Invalid(
                "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But "
                + (sources == 0 ? "no field is set" : "set" + (dataStart >= 0 ? " 'data'" : "") + (binarySize.HasValue ? " 'binary_data_size'" : "")
                    + (shm.Region is null ? "" : " 'shared_memory_region'"))
                + $" ({where})");
        }
        header.Inputs.Add(new InputHeader(name, type, [.. shape], binarySize, dataStart, dataLength, shm.Reference()));
        return null;
    }

    private static InferenceError? ReadOutput(ref Utf8JsonReader reader, Header header, int index)
    {
        string? name = null;
        var binary = false;
        var classification = 0;
        var shm = new ShmParameters();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (name is null)
                {
                    return ProtocolErrors.Invalid($"'outputs[{index}].name' must be a string");
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return ProtocolErrors.Invalid($"'outputs[{index}].parameters' must be an object");
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("binary_data"u8))
                    {
                        reader.Read();
                        if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                        {
                            return ProtocolErrors.Invalid($"'outputs[{index}].parameters.binary_data' must be a boolean");
                        }
                        binary = reader.GetBoolean();
                    }
                    else if (reader.ValueTextEquals("classification"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out classification) || classification < 0)
                        {
                            return ProtocolErrors.Invalid($"'outputs[{index}].parameters.classification' must be a non-negative integer");
                        }
                    }
                    else if (ShmParameters.IsOne(ref reader))
                    {
                        var error = shm.Read(ref reader, $"outputs[{index}]");
                        if (error is not null)
                        {
                            return error;
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (name is null)
        {
            return ProtocolErrors.Invalid($"outputs[{index}] is missing 'name'");
        }
        var shmError = shm.Check(name);
        if (shmError is not null)
        {
            return shmError;
        }
        if (shm.Region is not null && classification > 0)
        {
            return ProtocolErrors.Invalid($"Output can't set both 'shared_memory_region' and 'classification' (output '{name}')");
        }
        if (shm.Region is not null && binary)
        {
            return ProtocolErrors.Invalid($"Output can't set both 'shared_memory_region' and 'binary_data' (output '{name}')");
        }
        header.Outputs.Add(new OutputHeader(name, binary, classification, shm.Reference()));
        return null;
    }

    private static InferenceError? ReadRequestParameters(ref Utf8JsonReader reader, Header header)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return ProtocolErrors.Invalid("'parameters' must be an object");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            object value;
            switch (reader.TokenType)
            {
                case JsonTokenType.String: value = reader.GetString()!; break;
                case JsonTokenType.True or JsonTokenType.False: value = reader.GetBoolean(); break;
                case JsonTokenType.Number when reader.TryGetInt64(out var l): value = l; break;
                case JsonTokenType.Number when reader.TryGetUInt64(out var u): value = u; break;
                case JsonTokenType.Number:
                    if (!reader.TryGetDouble(out var d) || !double.IsFinite(d))
                    {
                        return ProtocolErrors.Invalid($"parameter '{key}' is a number beyond the range of a double");
                    }
                    value = d;
                    break;
                default:
                    return ProtocolErrors.Invalid($"parameter '{key}' must be a string, number or boolean");
            }
            if (key == "binary_data_output")
            {
                if (value is not bool b)
                {
                    return ProtocolErrors.Invalid("parameter 'binary_data_output' must be a boolean");
                }
                header.BinaryDataOutput = b;
                continue;
            }
            (header.Parameters ??= new Dictionary<string, object>(StringComparer.Ordinal))[key] = value;
        }
        return null;
    }

    private sealed class Header
    {
        public string? Id { get; set; }

        public Dictionary<string, object>? Parameters { get; set; }

        public bool BinaryDataOutput { get; set; }

        public List<InputHeader> Inputs { get; } = [];

        public List<OutputHeader> Outputs { get; } = [];
    }

    private sealed record InputHeader(
        string Name, DataType DataType, long[] Shape, long? BinaryDataSize, int DataStart, int DataLength, SharedMemoryReference? SharedMemory);

    private sealed record OutputHeader(string Name, bool Binary, int Classification, SharedMemoryReference? SharedMemory);

    /// <summary>A tensor's shared memory parameters as read, checked together by <see cref="Check"/> (Triton's wording).</summary>
    private sealed class ShmParameters
    {
        public string? Region { get; private set; }

        private ulong? _offset;
        private ulong? _byteSize;

        public static bool IsOne(ref Utf8JsonReader reader) =>
            reader.ValueTextEquals("shared_memory_region"u8) || reader.ValueTextEquals("shared_memory_offset"u8)
            || reader.ValueTextEquals("shared_memory_byte_size"u8);

        public InferenceError? Read(ref Utf8JsonReader reader, string where)
        {
            var key = reader.GetString()!;
            reader.Read();
            if (key == SharedMemoryTensors.RegionParameter)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    return ProtocolErrors.Invalid($"Unable to parse 'shared_memory_region': '{where}.parameters.shared_memory_region' must be a string");
                }
                Region = reader.GetString();
                return null;
            }
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var value))
            {
                return ProtocolErrors.Invalid($"Unable to parse '{key}': '{where}.parameters.{key}' must be a non-negative integer");
            }
            if (key == SharedMemoryTensors.OffsetParameter)
            {
                _offset = value;
            }
            else
            {
                _byteSize = value;
            }
            return null;
        }

        public InferenceError? Check(string tensor)
        {
            if (Region is null)
            {
                return _offset.HasValue || _byteSize.HasValue
                    ? ProtocolErrors.Invalid(
                        $"'{(_offset.HasValue ? "shared_memory_offset" : "shared_memory_byte_size")}' can not be specified without 'shared_memory_region' parameter for tensor '{tensor}'")
                    : null;
            }
            return _byteSize.HasValue
                ? null
                : ProtocolErrors.Invalid($"'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor '{tensor}'");
        }

        public SharedMemoryReference? Reference() => Region is null ? null : new SharedMemoryReference(Region, _offset ?? 0, _byteSize!.Value);
    }
}
