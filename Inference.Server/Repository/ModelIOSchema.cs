using System.Collections.Frozen;
using Inference.Server.Core;
using Inference.Server.Protos;
using DataType = Inference.Server.Core.DataType;

namespace Inference.Server.Repository;

/// <summary>
/// The inputs and outputs of one loaded model version, built once from its completed, validated config, and
/// the per-request check against them (Triton's request normalization). Requests are checked against
/// <c>dims</c>, not <c>reshape</c>, as in Triton. Immutable and thread-safe; <see cref="Validate"/> allocates
/// nothing on success.
/// </summary>
public sealed class ModelIOSchema
{
    private readonly TensorSchema[] _inputs;
    private readonly int _requiredInputs;

    private ModelIOSchema(string modelName, int maxBatchSize, TensorSchema[] inputs, TensorSchema[] outputs)
    {
        ModelName = modelName;
        MaxBatchSize = maxBatchSize;
        _inputs = inputs;
        InputList = inputs;
        OutputList = outputs;
        Inputs = inputs.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
        Outputs = outputs.ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);
        _requiredInputs = inputs.Count(t => !t.Optional);
    }

    public string ModelName { get; }

    /// <summary>0: the model does not batch and request shapes equal dims.</summary>
    public int MaxBatchSize { get; }

    public FrozenDictionary<string, TensorSchema> Inputs { get; }

    public FrozenDictionary<string, TensorSchema> Outputs { get; }

    /// <summary>Inputs in config order (<see cref="TensorSchema.Index"/> is the position here).</summary>
    public IReadOnlyList<TensorSchema> InputList { get; }

    public IReadOnlyList<TensorSchema> OutputList { get; }

    public static ModelIOSchema Create(ModelConfig config)
    {
        var inputs = config.Input.Select((t, i) => new TensorSchema(
            t.Name, (DataType)(int)t.DataType, [.. t.Dims], t.Reshape is null ? null : [.. t.Reshape.Shape], t.Optional, i)).ToArray();
        var outputs = config.Output.Select((t, i) => new TensorSchema(
            t.Name, (DataType)(int)t.DataType, [.. t.Dims], t.Reshape is null ? null : [.. t.Reshape.Shape], false, i, t.LabelFilename)).ToArray();
        return new ModelIOSchema(config.Name, config.MaxBatchSize, inputs, outputs);
    }

    /// <summary>The shape a client sees in model metadata: dims with a leading -1 for batching models.</summary>
    public long[] MetadataShape(TensorSchema tensor) => MaxBatchSize > 0 ? [-1, .. tensor.Dims] : tensor.Dims;

    /// <summary>
    /// Checks the request's inputs (names, data types, shapes, batch size, byte sizes, BYTES layout) and requested
    /// outputs; on success sets <see cref="InferenceRequest.BatchSize"/> and returns null.
    /// </summary>
    public InferenceError? Validate(InferenceRequest request)
    {
        Span<bool> seen = _inputs.Length <= 256 ? stackalloc bool[_inputs.Length] : new bool[_inputs.Length];
        int required = 0;
        long batch = -1;
        InferTensor? batchSource = null;
        var inputs = request.Inputs;
        for (int i = 0; i < inputs.Count; i++)
        {
            var tensor = inputs[i];
            if (!Inputs.TryGetValue(tensor.Name, out var schema))
            {
                return Invalid($"unexpected inference input '{tensor.Name}' for model '{ModelName}'; its inputs are {NameList(_inputs)}");
            }
            if (seen[schema.Index])
            {
                return Invalid($"input '{tensor.Name}' is given more than once in the request for model '{ModelName}'");
            }
            seen[schema.Index] = true;
            if (!schema.Optional)
            {
                required++;
            }
            if (tensor.DataType != schema.DataType)
            {
                return Invalid($"inference input '{tensor.Name}' data-type is '{WireName(tensor.DataType)}', but model '{ModelName}' expects '{WireName(schema.DataType)}'");
            }
            ReadOnlySpan<long> shape = tensor.Shape;
            foreach (var d in shape)
            {
                if (d < 0)
                {
                    return Invalid($"input '{tensor.Name}' for model '{ModelName}' has a negative dimension in shape {ShapeMath.Format(shape)}");
                }
            }
            if (MaxBatchSize > 0)
            {
                if (shape.Length == 0)
                {
                    return Invalid($"input '{tensor.Name}' for model '{ModelName}' needs a batch dimension (expected {ShapeMath.Format(MetadataShape(schema))}, got [])");
                }
                long b = shape[0];
                if (b < 1)
                {
                    return Invalid($"batch size {b} of input '{tensor.Name}' for model '{ModelName}' must be at least 1");
                }
                if (b > MaxBatchSize)
                {
                    return Invalid($"batch size {b} exceeds maximum batch size {MaxBatchSize} of model '{ModelName}' (input '{tensor.Name}')");
                }
                if (batchSource is not null && b != batch)
                {
                    return Invalid($"input '{tensor.Name}' has batch size {b} but input '{batchSource.Name}' has batch size {batch}; all inputs of a request to model '{ModelName}' must have the same batch size");
                }
                batch = b;
                batchSource = tensor;
                shape = shape[1..];
            }
            if (!DimsMatch(shape, schema.Dims))
            {
                return Invalid($"unexpected shape for input '{tensor.Name}' for model '{ModelName}': expected {ShapeMath.Format(MetadataShape(schema))}, got {ShapeMath.Format(tensor.Shape)}");
            }
            if (CheckData(tensor, schema) is { } dataError)
            {
                return dataError;
            }
        }
        if (required < _requiredInputs)
        {
            foreach (var schema in _inputs)
            {
                if (!schema.Optional && !seen[schema.Index])
                {
                    return Invalid($"model '{ModelName}' requires input '{schema.Name}', which the request does not have");
                }
            }
        }
        if (ValidateOutputs(request.Outputs) is { } outputError)
        {
            return outputError;
        }
        request.BatchSize = batch > 0 ? (int)batch : 1;
        return null;
    }

    private InferenceError? CheckData(InferTensor tensor, TensorSchema schema)
    {
        if (!TryElementCount(tensor.Shape, out var count))
        {
            return Invalid($"shape {ShapeMath.Format(tensor.Shape)} of input '{tensor.Name}' for model '{ModelName}' is too large");
        }
        if (schema.DataType == DataType.Bytes)
        {
            if (!BytesTensorLayout.TryCountElements(tensor.Data.Span, out var found, out var problem))
            {
                return Invalid($"BYTES input '{tensor.Name}' for model '{ModelName}' is malformed: {problem}");
            }
            if (found != count)
            {
                return Invalid($"BYTES input '{tensor.Name}' for model '{ModelName}' holds {found} elements, but its shape {ShapeMath.Format(tensor.Shape)} needs {count}");
            }
            return null;
        }
        long expected = count * schema.DataType.ElementSize();
        if (count > long.MaxValue / 8 || expected != tensor.Data.Length)
        {
            return Invalid($"input '{tensor.Name}' for model '{ModelName}' has {tensor.Data.Length} bytes, but shape {ShapeMath.Format(tensor.Shape)} of {WireName(schema.DataType)} needs {expected}");
        }
        return null;
    }

    private InferenceError? ValidateOutputs(List<RequestedOutput> outputs)
    {
        for (int i = 0; i < outputs.Count; i++)
        {
            var o = outputs[i];
            if (!Outputs.ContainsKey(o.Name))
            {
                return Invalid($"unexpected inference output '{o.Name}' for model '{ModelName}'; its outputs are {NameList(OutputList)}");
            }
            if (o.ClassificationCount < 0)
            {
                return Invalid($"classification count {o.ClassificationCount} of output '{o.Name}' for model '{ModelName}' must be >= 0");
            }
            for (int j = 0; j < i; j++)
            {
                if (outputs[j].Name == o.Name)
                {
                    return Invalid($"output '{o.Name}' is requested more than once for model '{ModelName}'");
                }
            }
        }
        return null;
    }

    private static bool DimsMatch(ReadOnlySpan<long> shape, long[] dims)
    {
        if (shape.Length != dims.Length)
        {
            return false;
        }
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] != -1 && dims[i] != shape[i])
            {
                return false;
            }
        }
        return true;
    }

    private static bool TryElementCount(ReadOnlySpan<long> shape, out long count)
    {
        count = 1;
        foreach (var d in shape)
        {
            if (d != 0 && count > long.MaxValue / d)
            {
                return false;
            }
            count *= d;
        }
        return true;
    }

    private static string WireName(DataType t) => Enum.IsDefined(t) ? t.ToWireName() : ((int)t).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string NameList(IEnumerable<TensorSchema> tensors) => "[" + string.Join(", ", tensors.Select(t => $"'{t.Name}'")) + "]";

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
