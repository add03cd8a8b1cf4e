using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// Checks a (completed) Triton model config against what this server can serve, the way Triton's
/// ValidateModelConfig does for the ONNX Runtime backend. Every error names the file and the field path.
/// Normalizes in place: fills <c>platform</c>/<c>backend</c> from each other (both empty: both filled)
/// and sets instance_group <c>count</c> 0 to 1. Label files are checked by the loader, not here.
/// Not thread-safe for the same config instance.
/// </summary>
public static class ModelConfigValidator
{
    public const string Platform = "onnxruntime_onnx";
    public const string Backend = "onnxruntime";

    /// <summary>Validates <paramref name="config"/>; null when it is valid. <paramref name="expectedName"/>,
    /// when given, is the model's folder name, which the config's name must equal.</summary>
    public static InferenceError? Validate(ModelConfig config, string fileForMessages, string? expectedName = null)
    {
        var f = fileForMessages;
        if (EnsembleConfigValidator.IsEnsemble(config))
        {
            return EnsembleConfigValidator.Validate(config, f, expectedName);
        }
        if (string.IsNullOrEmpty(config.Name))
        {
            return ConfigErrors.Invalid(f, "name", "must be set");
        }
        if (expectedName is not null && config.Name != expectedName)
        {
            return ConfigErrors.Invalid(f, "name", $"'{config.Name}' does not match the model folder name '{expectedName}'");
        }
        return ValidatePlatform(config, f)
            ?? (config.MaxBatchSize < 0 ? ConfigErrors.Invalid(f, "max_batch_size", $"must be >= 0, got {config.MaxBatchSize}") : null)
            ?? TensorConfigValidator.ValidateInputs(config, f)
            ?? TensorConfigValidator.ValidateOutputs(config, f)
            ?? SchedulingConfigValidator.ValidateScheduling(config, f)
            ?? SchedulingConfigValidator.ValidateInstanceGroups(config, f)
            ?? ValidateVersionPolicy(config, f)
            ?? ValidateOptimization(config, f)
            ?? TensorConfigValidator.ValidateWarmup(config, f);
    }

    private static InferenceError? ValidatePlatform(ModelConfig config, string f)
    {
        if (config.Platform.Length > 0 && config.Platform != Platform)
        {
            return ConfigErrors.Unsupported(f, "platform", $"'{config.Platform}' is not supported; this server serves '{Platform}'");
        }
        if (config.Backend.Length > 0 && config.Backend != Backend)
        {
            return ConfigErrors.Unsupported(f, "backend", $"'{config.Backend}' is not supported; this server serves '{Backend}'");
        }
        config.Platform = Platform;
        config.Backend = Backend;
        return null;
    }

    private static InferenceError? ValidateVersionPolicy(ModelConfig config, string f)
    {
        var policy = config.VersionPolicy;
        switch (policy?.PolicyChoiceCase)
        {
            case ModelVersionPolicy.PolicyChoiceOneofCase.Latest when policy.Latest.NumVersions == 0:
                return ConfigErrors.Invalid(f, "version_policy.latest.num_versions", "must be >= 1");
            case ModelVersionPolicy.PolicyChoiceOneofCase.Specific:
                foreach (var v in policy.Specific.Versions)
                {
                    if (v < 1)
                    {
                        return ConfigErrors.Invalid(f, "version_policy.specific.versions", $"version {v} is not valid; versions are >= 1");
                    }
                }
                return null;
            default:
                return null;
        }
    }

    private static InferenceError? ValidateOptimization(ModelConfig config, string f)
    {
        var o = config.Optimization;
        if (o is null)
        {
            return null;
        }
        // The ONNX Runtime backend maps -1 to basic, 1 to extended, 2 to disabled and 0 (absent) to all.
        if (o.Graph is { Level: < -1 or > 2 } g)
        {
            return ConfigErrors.Invalid(f, "optimization.graph.level",
                $"{g.Level} is not valid; expected -1 (basic), 0 (all, the default), 1 (extended) or 2 (disabled)");
        }
        if (o.ExecutionAccelerators is { } ea)
        {
            for (int i = 0; i < ea.GpuExecutionAccelerator.Count; i++)
            {
                var name = ea.GpuExecutionAccelerator[i].Name;
                if (name is not ("tensorrt" or "cuda"))
                {
                    return ConfigErrors.Invalid(f, $"optimization.execution_accelerators.gpu_execution_accelerator[{i}].name",
                        $"unknown accelerator '{name}'; the onnxruntime backend knows 'tensorrt' and 'cuda'");
                }
            }
            for (int i = 0; i < ea.CpuExecutionAccelerator.Count; i++)
            {
                var name = ea.CpuExecutionAccelerator[i].Name;
                if (name != "openvino")
                {
                    return ConfigErrors.Invalid(f, $"optimization.execution_accelerators.cpu_execution_accelerator[{i}].name",
                        $"unknown accelerator '{name}'; the onnxruntime backend knows 'openvino'");
                }
            }
        }
        return null;
    }
}
