using Google.Protobuf.Collections;
using Inference.Server.Core;
using Inference.Server.Protos;
using ConfigDataType = Inference.Server.Protos.DataType;
using Kind = Inference.Server.Protos.ModelInstanceGroup.Types.Kind;

namespace Inference.Server.Repository;

/// <summary>
/// Triton's config auto-complete for ONNX models (the onnxruntime backend's AutoCompleteConfig plus the core's
/// defaults), from the signature the model file declares:
/// <list type="bullet">
/// <item>When the config lacks inputs or outputs: the model "can batch" when every input and output has a
/// first dim of -1. Then a max_batch_size of 0 becomes <c>defaultMaxBatchSize</c> (Triton's
/// <c>--backend-config=onnxruntime,default-max-batch-size</c>, whose default is 4; we use the same 4), and
/// a model with max_batch_size &gt; 1 and no scheduler gets an empty dynamic_batching. A model that cannot
/// batch with max_batch_size &gt; 0 is an error. Missing inputs/outputs are filled from the signature, with the
/// batch dim dropped when max_batch_size &gt; 0; a tensor left with no dims gets dims [1] and an empty reshape.</item>
/// <item>Always: name, platform "onnxruntime_onnx", backend "onnxruntime", version_policy latest{1}, one
/// instance group of count 1 (KIND_GPU when a GPU is available, else KIND_CPU); KIND_AUTO groups are resolved the
/// same way, unnamed groups are named <c>{model}_{index}</c>.</item>
/// <item>Finally every config tensor is checked against the model: unknown names, data types, ranks and
/// fixed dims that differ, or required model inputs missing from the config, are errors naming both sides.</item>
/// </list>
/// The partial config is not modified. Thread-safe.
/// </summary>
public static class ModelConfigAutoComplete
{
    /// <summary>The max_batch_size given to batchable models whose config does not set one (Triton's default).</summary>
    public const int DefaultMaxBatchSize = 4;

    public static Result<ModelConfig> Complete(
        ModelConfig? partial, ModelSignature signature, string modelName, bool gpuAvailable, int defaultMaxBatchSize = DefaultMaxBatchSize)
    {
        var config = partial?.Clone() ?? new ModelConfig();
        if (config.Name.Length == 0)
        {
            config.Name = modelName;
        }
        if (config.Platform.Length == 0 && (config.Backend.Length == 0 || config.Backend == ModelConfigValidator.Backend))
        {
            config.Platform = ModelConfigValidator.Platform;
        }
        if (config.Backend.Length == 0 && config.Platform == ModelConfigValidator.Platform)
        {
            config.Backend = ModelConfigValidator.Backend;
        }
        config.VersionPolicy ??= new ModelVersionPolicy { Latest = new() { NumVersions = 1 } };
        if (config.VersionPolicy.PolicyChoiceCase == ModelVersionPolicy.PolicyChoiceOneofCase.None)
        {
            config.VersionPolicy.Latest = new() { NumVersions = 1 };
        }
        CompleteInstanceGroups(config, gpuAvailable);
        SequenceBatchingConfig.ApplyDefaults(config);

        if (config.Input.Count == 0 || config.Output.Count == 0)
        {
            bool canBatch = signature.Inputs.Concat(signature.Outputs).All(t => t.Shape.Length > 0 && t.Shape[0] == -1);
            if (canBatch)
            {
                if (config.MaxBatchSize == 0)
                {
                    config.MaxBatchSize = Math.Max(defaultMaxBatchSize, 0);
                }
                if (config.MaxBatchSize > 1 && config.SchedulingChoiceCase == ModelConfig.SchedulingChoiceOneofCase.None)
                {
                    config.DynamicBatching = new ModelDynamicBatching();
                }
            }
            else if (config.MaxBatchSize != 0)
            {
                return Error(config.Name, $"max_batch_size is {config.MaxBatchSize}, but the model does not support batching (not every input and output has a variable first dimension)");
            }
            if (config.Input.Count == 0)
            {
                var supplied = SequenceBatchingConfig.SuppliedInputs(config);
                foreach (var t in signature.Inputs.Where(t => !supplied.ContainsKey(t.Name)))
                {
                    var input = new ModelInput { Name = t.Name, DataType = (ConfigDataType)(int)t.DataType };
                    input.Reshape = FillDims(input.Dims, t.Shape, config.MaxBatchSize);
                    config.Input.Add(input);
                }
            }
            if (config.Output.Count == 0)
            {
                foreach (var t in signature.Outputs)
                {
                    var output = new ModelOutput { Name = t.Name, DataType = (ConfigDataType)(int)t.DataType };
                    output.Reshape = FillDims(output.Dims, t.Shape, config.MaxBatchSize);
                    config.Output.Add(output);
                }
            }
        }
        return CheckAgainstModel(config, signature) is { } error ? error : config;
    }

    private static void CompleteInstanceGroups(ModelConfig config, bool gpuAvailable)
    {
        var defaultKind = gpuAvailable ? Kind.Gpu : Kind.Cpu;
        if (config.InstanceGroup.Count == 0)
        {
            config.InstanceGroup.Add(new ModelInstanceGroup { Count = 1, Kind = defaultKind });
        }
        for (int i = 0; i < config.InstanceGroup.Count; i++)
        {
            var g = config.InstanceGroup[i];
            if (g.Name.Length == 0)
            {
                g.Name = $"{config.Name}_{i}";
            }
            if (g.Count == 0)
            {
                g.Count = 1;
            }
            if (g.Kind == Kind.Auto)
            {
                g.Kind = gpuAvailable || g.Gpus.Count > 0 ? Kind.Gpu : Kind.Cpu;
            }
        }
    }

    /// <summary>Fills config dims from a model shape; returns the reshape to set (scalar case) or null.</summary>
    private static ModelTensorReshape? FillDims(RepeatedField<long> dims, long[] modelShape, int maxBatchSize)
    {
        for (int i = maxBatchSize > 0 ? 1 : 0; i < modelShape.Length; i++)
        {
            dims.Add(modelShape[i]);
        }
        if (dims.Count > 0)
        {
            return null;
        }
        dims.Add(1);
        return maxBatchSize > 0 ? new ModelTensorReshape() : null;
    }

    private static InferenceError? CheckAgainstModel(ModelConfig config, ModelSignature signature)
    {
        foreach (var input in config.Input)
        {
            var model = signature.Inputs.FirstOrDefault(t => t.Name == input.Name);
            if (model is null)
            {
                if (input.Optional)
                {
                    continue;
                }
                return Error(config.Name, $"config input '{input.Name}' is not an input of the model file; the model's inputs are {Names(signature.Inputs)}");
            }
            if (CheckTensor("input", input.Name, input.DataType, input.Dims, input.Reshape, model, config) is { } e)
            {
                return e;
            }
        }
        var suppliedBySequenceBatcher = SequenceBatchingConfig.SuppliedInputs(config);
        foreach (var model in signature.Inputs)
        {
            if (!config.Input.Any(i => i.Name == model.Name) && !suppliedBySequenceBatcher.ContainsKey(model.Name))
            {
                return Error(config.Name, $"model file input '{model.Name}' is missing from the config's inputs {Names(config.Input.Select(i => i.Name))}");
            }
        }
        foreach (var output in config.Output)
        {
            var model = signature.Outputs.FirstOrDefault(t => t.Name == output.Name);
            if (model is null)
            {
                return Error(config.Name, $"config output '{output.Name}' is not an output of the model file; the model's outputs are {Names(signature.Outputs)}");
            }
            if (CheckTensor("output", output.Name, output.DataType, output.Dims, output.Reshape, model, config) is { } e)
            {
                return e;
            }
        }
        return null;
    }

    private static InferenceError? CheckTensor(
        string kind, string name, ConfigDataType dataType, RepeatedField<long> dims, ModelTensorReshape? reshape,
        TensorSignature model, ModelConfig config)
    {
        var configType = (Core.DataType)(int)dataType;
        if (configType != model.DataType)
        {
            return Error(config.Name, $"{kind} '{name}' has data type {SafeConfigName(configType)} in the config but {model.DataType.ToConfigName()} in the model file");
        }
        // What the model sees: reshape (if any) replaces dims; batching models get a leading batch dim.
        var shape = new List<long>();
        if (config.MaxBatchSize > 0)
        {
            shape.Add(-1);
        }
        shape.AddRange(reshape is null ? dims : reshape.Shape);
        string configShape = ShapeMath.Format([.. shape]) + (reshape is null ? "" : " (reshaped)");
        if (model.Shape.Length == 0 && shape is [1])
        {
            return null; // Triton's spelling of a scalar in a non-batching model: dims [ 1 ].
        }
        if (shape.Count != model.Shape.Length)
        {
            return Error(config.Name, $"{kind} '{name}' has {shape.Count} dims {configShape} in the config (batch dim included) but {model.Shape.Length} dims {ShapeMath.Format(model.Shape)} in the model file");
        }
        for (int i = 0; i < shape.Count; i++)
        {
            long m = model.Shape[i];
            bool batchDim = i == 0 && config.MaxBatchSize > 0;
            if (batchDim ? m >= 0 : (m >= 0 && shape[i] != m))
            {
                return Error(config.Name, batchDim
                    ? $"{kind} '{name}' has a fixed first dimension {m} in the model file {ShapeMath.Format(model.Shape)}, so the model cannot batch, but max_batch_size is {config.MaxBatchSize}"
                    : $"{kind} '{name}' has shape {configShape} in the config but {ShapeMath.Format(model.Shape)} in the model file");
            }
        }
        return null;
    }

    private static string SafeConfigName(Core.DataType t) => Enum.IsDefined(t) ? t.ToConfigName() : ((int)t).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Names(IEnumerable<TensorSignature> tensors) => Names(tensors.Select(t => t.Name));

    private static string Names(IEnumerable<string> names) => "[" + string.Join(", ", names.Select(n => $"'{n}'")) + "]";

    private static InferenceError Error(string model, string message) =>
        new(ErrorCode.InvalidArgument, $"auto-complete of model '{model}' failed: {message}");
}
