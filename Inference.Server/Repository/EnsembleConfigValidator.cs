using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// The checks of an ensemble's config that need no other model (Triton's ValidateEnsembleSchedulingConfig): platform
/// <c>ensemble</c> with <c>ensemble_scheduling</c>, no instance groups, optimization or warmup, at least one step, each
/// with a model name and both maps, every ensemble tensor written once, every input used, every output written and no
/// tensor left unused (so no cycle, since a cycle's tensors are never ready). The checks against the composing models'
/// configs are <see cref="EnsemblePlan"/>'s, at load. Every error names the file and the field.
/// </summary>
public static class EnsembleConfigValidator
{
    public const string Platform = "ensemble";

    /// <summary>The config describes an ensemble (platform <c>ensemble</c> or an <c>ensemble_scheduling</c> block).</summary>
    public static bool IsEnsemble(ModelConfig? config) =>
        config is not null && (config.Platform == Platform || config.SchedulingChoiceCase == ModelConfig.SchedulingChoiceOneofCase.EnsembleScheduling);

    public static InferenceError? Validate(ModelConfig config, string f, string? expectedName = null)
    {
        if (string.IsNullOrEmpty(config.Name))
        {
            return ConfigErrors.Invalid(f, "name", "must be set");
        }
        if (expectedName is not null && config.Name != expectedName)
        {
            return ConfigErrors.Invalid(f, "name", $"'{config.Name}' does not match the model folder name '{expectedName}'");
        }
        if (config.Platform != Platform)
        {
            return ConfigErrors.Invalid(f, "platform", $"ensemble scheduling cannot be set for model '{config.Name}' whose platform is not {Platform}");
        }
        if (config.Backend.Length > 0)
        {
            return ConfigErrors.Invalid(f, "backend", $"must not be set for ensemble '{config.Name}' (got '{config.Backend}')");
        }
        if (config.SchedulingChoiceCase != ModelConfig.SchedulingChoiceOneofCase.EnsembleScheduling)
        {
            return ConfigErrors.Invalid(f, "ensemble_scheduling", $"ensemble scheduling must be set for ensemble {config.Name} whose platform is {Platform}");
        }
        if (config.InstanceGroup.Count != 0)
        {
            return ConfigErrors.Invalid(f, "instance_group", $"instance group should not be specified for ensemble '{config.Name}'");
        }
        if (config.Optimization is not null)
        {
            return ConfigErrors.Invalid(f, "optimization", $"optimization should not be specified for ensemble '{config.Name}'");
        }
        if (config.ModelWarmup.Count != 0)
        {
            return ConfigErrors.Invalid(f, "model_warmup", $"model_warmup can not be specified for ensemble '{config.Name}'");
        }
        if (config.MaxBatchSize < 0)
        {
            return ConfigErrors.Invalid(f, "max_batch_size", $"must be >= 0, got {config.MaxBatchSize}");
        }
        if (config.ModelTransactionPolicy?.Decoupled == true)
        {
            return ConfigErrors.Unsupported(f, "model_transaction_policy.decoupled", "decoupled models are not supported by this server");
        }
        for (var i = 0; i < config.Output.Count; i++)
        {
            if (config.Output[i].LabelFilename.Length > 0)
            {
                return ConfigErrors.Invalid(f, $"output[{i}].label_filename",
                    "is not used by an ensemble: a classification of an ensemble output takes the labels of the composing model that produces it");
            }
        }
        return TensorConfigValidator.ValidateInputs(config, f)
            ?? TensorConfigValidator.ValidateOutputs(config, f)
            ?? ValidateVersionPolicy(config, f)
            ?? ValidateGraph(config, f);
    }

    private static InferenceError? ValidateVersionPolicy(ModelConfig config, string f) =>
        config.VersionPolicy?.PolicyChoiceCase switch
        {
            ModelVersionPolicy.PolicyChoiceOneofCase.Latest when config.VersionPolicy.Latest.NumVersions == 0 =>
                ConfigErrors.Invalid(f, "version_policy.latest.num_versions", "must be >= 1"),
            ModelVersionPolicy.PolicyChoiceOneofCase.Specific when config.VersionPolicy.Specific.Versions.Any(v => v < 1) =>
                ConfigErrors.Invalid(f, "version_policy.specific.versions", "versions are >= 1"),
            _ => null,
        };

    private static InferenceError? ValidateGraph(ModelConfig config, string f)
    {
        var steps = config.EnsembleScheduling.Step;
        if (steps.Count == 0)
        {
            return ConfigErrors.Invalid(f, "ensemble_scheduling.step", $"must specify 'step' for ensemble '{config.Name}'");
        }
        if (config.EnsembleScheduling.MaxInflightResponses != 0)
        {
            return ConfigErrors.Unsupported(f, "ensemble_scheduling.max_inflight_responses", "applies to decoupled models, which this server does not support");
        }
        var producers = new Dictionary<string, int>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var path = $"ensemble_scheduling.step[{i}]";
            if (step.ModelName.Length == 0)
            {
                return ConfigErrors.Invalid(f, path + ".model_name", $"must specify 'model_name' in step {i} of ensemble '{config.Name}'");
            }
            if (step.ModelName == config.Name)
            {
                return ConfigErrors.Invalid(f, path + ".model_name", $"ensemble '{config.Name}' cannot be a step of itself");
            }
            if (ModelRepository.CheckModelName(step.ModelName) is { } badName)
            {
                return ConfigErrors.Invalid(f, path + ".model_name", badName.Message);
            }
            if (step.ModelVersion < -1)
            {
                return ConfigErrors.Invalid(f, path + ".model_version", $"{step.ModelVersion} is not valid; use -1 (latest) or a version >= 1");
            }
            if (step.ModelNamespace.Length > 0)
            {
                return ConfigErrors.Invalid(f, path + ".model_namespace", "is reserved and must not be set");
            }
            if (step.InputMap.Count == 0)
            {
                return ConfigErrors.Invalid(f, path + ".input_map", $"must specify 'input_map' in step {i} of ensemble '{config.Name}'");
            }
            if (step.OutputMap.Count == 0)
            {
                return ConfigErrors.Invalid(f, path + ".output_map", $"must specify 'output_map' in step {i} of ensemble '{config.Name}'");
            }
            foreach (var (output, tensor) in step.OutputMap)
            {
                if (!producers.TryAdd(tensor, i))
                {
                    return ConfigErrors.Invalid(f, $"{path}.output_map[\"{output}\"]",
                        $"ensemble tensor '{tensor}' can appear in an output map only once for ensemble '{config.Name}' step {i}");
                }
            }
            foreach (var (_, tensor) in step.InputMap)
            {
                if (!consumers.TryGetValue(tensor, out var list))
                {
                    consumers[tensor] = list = [];
                }
                list.Add(i);
            }
        }
        var inputNames = config.Input.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < config.Input.Count; i++)
        {
            var name = config.Input[i].Name;
            if (!consumers.ContainsKey(name))
            {
                return ConfigErrors.Invalid(f, $"input[{i}]", $"ensemble input '{name}' for ensemble '{config.Name}' is not used");
            }
            if (producers.TryGetValue(name, out var writer))
            {
                return ConfigErrors.Invalid(f, $"ensemble_scheduling.step[{writer}].output_map",
                    $"ensemble tensor '{name}' is an input of ensemble '{config.Name}' and cannot be written by a step");
            }
        }

        // Data flow from the inputs: a step runs once all its input tensors are ready.
        var ready = new HashSet<string>(inputNames, StringComparer.Ordinal);
        var done = new bool[steps.Count];
        for (var progress = true; progress;)
        {
            progress = false;
            for (var i = 0; i < steps.Count; i++)
            {
                if (!done[i] && steps[i].InputMap.Values.All(ready.Contains))
                {
                    done[i] = true;
                    progress = true;
                    ready.UnionWith(steps[i].OutputMap.Values);
                }
            }
        }
        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < config.Output.Count; i++)
        {
            var name = config.Output[i].Name;
            outputNames.Add(name);
            if (!producers.ContainsKey(name))
            {
                return ConfigErrors.Invalid(f, $"output[{i}]", $"ensemble output '{name}' for ensemble '{config.Name}' is not used: no step's output_map writes it");
            }
            if (!ready.Contains(name))
            {
                var missing = FirstMissing(name, steps, producers, ready);
                return ConfigErrors.Invalid(f, $"output[{i}]", $"output '{name}' for ensemble '{config.Name}' is not written"
                    + (missing != name ? $": at least one of its depending tensors, '{missing}', is not connected" : ""));
            }
        }
        for (var i = 0; i < steps.Count; i++)
        {
            if (!done[i])
            {
                var missing = steps[i].InputMap.Values.First(t => !ready.Contains(t));
                return ConfigErrors.Invalid(f, $"ensemble_scheduling.step[{i}].input_map",
                    $"ensemble tensor '{FirstMissing(missing, steps, producers, ready)}' is never produced (not an ensemble input, not written by a step that can run, or part of a cycle) in ensemble '{config.Name}'");
            }
            foreach (var (output, tensor) in steps[i].OutputMap)
            {
                if (!outputNames.Contains(tensor) && !consumers.ContainsKey(tensor))
                {
                    return ConfigErrors.Invalid(f, $"ensemble_scheduling.step[{i}].output_map[\"{output}\"]",
                        $"ensemble tensor '{tensor}' is unused in ensemble '{config.Name}'");
                }
            }
        }
        return null;
    }

    /// <summary>Walks back from a tensor that is not ready to the first one whose producer is missing.</summary>
    private static string FirstMissing(string tensor, IList<ModelEnsembling.Types.Step> steps, Dictionary<string, int> producers, HashSet<string> ready)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var current = tensor;
        while (seen.Add(current) && producers.TryGetValue(current, out var step))
        {
            var next = steps[step].InputMap.Values.FirstOrDefault(t => !ready.Contains(t));
            if (next is null || seen.Contains(next))
            {
                break;
            }
            current = next;
        }
        return current;
    }
}
