using Inference.Server.Core;
using Inference.Server.Scheduling;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Creates ONNX Runtime model instances (platform "onnxruntime_onnx"). The model manager calls
/// <see cref="CreateInstance"/> once per instance of each instance group; every instance owns its own session.
/// </summary>
public static class OnnxRuntimeBackend
{
    public const string Platform = "onnxruntime_onnx";

    public const string BackendName = "onnxruntime";

    /// <summary>
    /// Loads <paramref name="modelPath"/> into a new session for <paramref name="device"/> and checks it against
    /// <paramref name="config"/> (the effective, auto-completed config): every config input/output must exist in the
    /// model with the same data type; when the config lists inputs, it must list all of the model's; batching
    /// models (max_batch_size &gt; 0) need a variable first dimension on every input and output. Config
    /// <c>reshape</c>s and <c>max_batch_size</c> are honoured by the instance. <paramref name="labels"/> maps output
    /// names to class labels (read by the model repository) for the classification extension. Responses carry
    /// <c>config.name</c> and <paramref name="modelVersion"/>.
    /// Expected failures (unreadable model, mismatching config, BYTES tensors, unavailable CUDA) come back as errors;
    /// the caller owns and disposes the returned instance.
    /// </summary>
    public static Result<IModelInstance> CreateInstance(
        string name,
        string modelPath,
        ModelConfig config,
        OnnxSessionSettings settings,
        OnnxDevice device,
        long modelVersion = 1,
        IReadOnlyDictionary<string, string[]>? labels = null)
    {
        if (config.MaxBatchSize < 0)
        {
            return Invalid($"max_batch_size must be >= 0, got {config.MaxBatchSize}");
        }
        if (!File.Exists(modelPath))
        {
            return Invalid($"model file '{modelPath}' does not exist");
        }

        var accelerators = settings.Accelerators;
        if (accelerators.CudaGraphs && (device.Kind != OnnxDeviceKind.Gpu || config.MaxBatchSize == 0))
        {
            if (device.Kind == OnnxDeviceKind.Gpu)
            {
                return Invalid($"CUDA graphs need a batching model (max_batch_size > 0); '{config.Name}' has max_batch_size 0");
            }
            accelerators = OnnxAcceleratorSettings.None; // GPU accelerators do not apply to CPU instances (as in Triton).
        }

        CudaStream? stream = null;
        if (device.Kind == OnnxDeviceKind.Gpu)
        {
            if (GpuProbe.Check(device.DeviceId, accelerators.UsesTensorRt) is { } unavailable)
            {
                return unavailable;
            }
            try
            {
                stream = CudaStream.Create(device.DeviceId);
            }
            catch (CudaException ex)
            {
                return new InferenceError(ErrorCode.Unsupported, $"cannot use GPU {device.DeviceId}: {ex.Message}");
            }
        }

        var options = settings.CreateSessionOptions(name);
        InferenceSession? session = null;
        GpuIoRunner? gpu = null;
        try
        {
            if (OnnxExecutionProviders.Configure(options, device, accelerators, stream?.Handle ?? 0) is { } placementError)
            {
                return Fail(placementError);
            }
            try
            {
                session = new InferenceSession(modelPath, options);
            }
            catch (OnnxRuntimeException ex)
            {
                return Fail(new InferenceError(ErrorCode.Internal, $"failed to load '{modelPath}' into ONNX Runtime: {ex.Message}"));
            }

            var plans = BuildPlans(session, config, labels);
            if (!plans.IsSuccess)
            {
                return Fail(plans.Error!);
            }
            var (inputs, outputs) = plans.Value;
            if (stream is not null && config.MaxBatchSize > 0)
            {
                gpu = GpuIoRunner.TryCreate(session, stream, accelerators, config.MaxBatchSize,
                    RowDims(session.InputMetadata, session.InputNames), RowDims(session.OutputMetadata, session.OutputNames),
                    accelerators.GraphSessionPerSize ? () => new InferenceSession(modelPath, options) : null);
                if (gpu is null && accelerators.CudaGraphs)
                {
                    return Fail(Invalid($"CUDA graphs need fixed shapes after the batch dimension; '{config.Name}' has a dynamic input or output dimension"));
                }
            }
            return new OnnxRuntimeInstance(name, device, config.Name, modelVersion, config.MaxBatchSize, session, options, inputs, outputs, gpu, stream);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or CudaException)
        {
            return Fail(new InferenceError(ErrorCode.Internal, $"failed to prepare '{config.Name}' on {device}: {ex.Message}"));
        }

        InferenceError Fail(InferenceError error)
        {
            gpu?.Dispose();
            session?.Dispose();
            options.Dispose();
            stream?.Dispose();
            return error;
        }
    }

    private static List<(string Name, DataType Type, long[] RowDims)> RowDims(
        IReadOnlyDictionary<string, NodeMetadata> metadata, IReadOnlyList<string> names) =>
        [.. names.Select(n => (n, OnnxTypeMap.ToDataType(metadata[n].ElementDataType), metadata[n].Dimensions.Skip(1).Select(d => (long)d).ToArray()))];

    private static Result<(InputPlan[] Inputs, OutputPlan[] Outputs)> BuildPlans(
        InferenceSession session, ModelConfig config, IReadOnlyDictionary<string, string[]>? labels)
    {
        var signatureResult = OnnxSignatureReader.FromSession(session);
        if (!signatureResult.IsSuccess)
        {
            return signatureResult.Error!;
        }
        var signature = signatureResult.Value!;
        var batching = config.MaxBatchSize > 0;

        foreach (var t in signature.Inputs.Concat(signature.Outputs))
        {
            if (t.DataType == DataType.Bytes)
            {
                return new InferenceError(ErrorCode.Unsupported,
                    $"tensor '{t.Name}' is BYTES (string): BYTES tensors are not supported by the {BackendName} backend");
            }
            if (batching && (t.Shape.Length == 0 || t.Shape[0] != -1))
            {
                return Invalid($"model '{config.Name}' has max_batch_size {config.MaxBatchSize} but tensor '{t.Name}' " +
                    $"has shape {ShapeMath.Format(t.Shape)} without a variable first (batch) dimension");
            }
        }

        var supplied = Repository.SequenceBatchingConfig.SuppliedInputs(config);
        if (config.Input.Count > 0 && config.Input.Count + supplied.Count != signature.Inputs.Count)
        {
            return Invalid($"config of '{config.Name}' lists {config.Input.Count} inputs, the model has {signature.Inputs.Count} " +
                $"({string.Join(", ", signature.Inputs.Select(i => i.Name))})");
        }

        var inputs = new List<InputPlan>();
        foreach (var t in signature.Inputs)
        {
            var configured = config.Input.FirstOrDefault(i => i.Name == t.Name);
            if (supplied.TryGetValue(t.Name, out var suppliedType))
            {
                if (suppliedType != t.DataType)
                {
                    return Invalid($"sequence batching input '{t.Name}': config says {suppliedType.ToConfigName()}, the model has {t.DataType.ToConfigName()}");
                }
            }
            else if (config.Input.Count > 0 && configured is null)
            {
                return Invalid($"model input '{t.Name}' is missing from the config of '{config.Name}'");
            }
            if (configured is not null && (DataType)(int)configured.DataType != t.DataType)
            {
                return Invalid($"input '{t.Name}': config says {((DataType)(int)configured.DataType).ToConfigName()}, the model has {t.DataType.ToConfigName()}");
            }
            var reshape = configured?.Reshape is { } r ? r.Shape.ToArray() : null;
            inputs.Add(new InputPlan(t.Name, t.DataType, OnnxTypeMap.ToElementType(t.DataType), reshape,
                new PinnedStagingBuffer(InitialStagingBytes(t, reshape, config.MaxBatchSize))));
        }
        foreach (var name in supplied.Keys)
        {
            if (signature.Inputs.All(i => i.Name != name))
            {
                return Invalid($"sequence batching input '{name}' is not an input of the model (inputs: {string.Join(", ", signature.Inputs.Select(i => i.Name))})");
            }
        }
        foreach (var configured in config.Input)
        {
            if (signature.Inputs.All(i => i.Name != configured.Name))
            {
                return Invalid($"config input '{configured.Name}' is not an input of the model (inputs: {string.Join(", ", signature.Inputs.Select(i => i.Name))})");
            }
        }

        var outputs = new List<OutputPlan>();
        foreach (var t in signature.Outputs)
        {
            var configured = config.Output.FirstOrDefault(o => o.Name == t.Name);
            if (configured is not null && (DataType)(int)configured.DataType != t.DataType)
            {
                return Invalid($"output '{t.Name}': config says {((DataType)(int)configured.DataType).ToConfigName()}, the model has {t.DataType.ToConfigName()}");
            }
            var clientDims = configured?.Reshape is not null ? configured.Dims.ToArray() : null;
            byte[][]? suffixes = labels is not null && labels.TryGetValue(t.Name, out var l) ? ClassificationWriter.EncodeLabels(l) : null;
            outputs.Add(new OutputPlan(t.Name, t.DataType, clientDims, suffixes));
        }
        foreach (var configured in config.Output)
        {
            if (signature.Outputs.All(o => o.Name != configured.Name))
            {
                return Invalid($"config output '{configured.Name}' is not an output of the model (outputs: {string.Join(", ", signature.Outputs.Select(o => o.Name))})");
            }
        }
        return (inputs.ToArray(), outputs.ToArray());
    }

    /// <summary>max_batch_size rows when a row's size is known, so the buffer never grows; small otherwise.</summary>
    private static long InitialStagingBytes(TensorSignature t, long[]? reshape, int maxBatchSize)
    {
        if (maxBatchSize == 0)
        {
            return 0; // Each request runs alone, read in place.
        }
        var rowElements = ShapeMath.ElementCount(reshape ?? t.Shape.AsSpan(1));
        return rowElements < 0 ? 0 : rowElements * t.DataType.ElementSize() * maxBatchSize;
    }

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
