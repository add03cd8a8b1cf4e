using Inference.Server.Core;
using Inference.Server.Protos;
using DataType = Inference.Server.Protos.DataType;

namespace Inference.Server.Repository;

/// <summary>One step of an ensemble: the composing model, the version to run (-1: its latest ready one, looked up per
/// request) and the tensor maps, model tensor name to ensemble tensor name.</summary>
public sealed record EnsembleStep(
    int Index, string ModelName, long ModelVersion,
    IReadOnlyList<(string ModelInput, string Tensor)> Inputs,
    IReadOnlyList<(string ModelOutput, string Tensor)> Outputs);

/// <summary>
/// An ensemble checked against its composing models' configs (Triton's ValidateEnsembleConfig): each step's model is
/// loaded, its input_map names inputs of that model and maps every input it requires, its output_map names outputs of
/// that model, every ensemble tensor has one data type and compatible shapes wherever it appears (a batching model's
/// [d...] matches a non-batching model's [-1, d...]), and no composing model allows a smaller batch than the ensemble.
/// Immutable; what the <see cref="Scheduling.EnsembleScheduler"/> runs. Errors name the file and the field.
/// </summary>
public sealed class EnsemblePlan
{
    private readonly Dictionary<string, int> _producers;

    private EnsemblePlan(ModelConfig config, List<EnsembleStep> steps, Dictionary<string, int> producers)
    {
        Config = config;
        Steps = steps;
        _producers = producers;
        OutputNames = [.. config.Output.Select(o => o.Name)];
    }

    public ModelConfig Config { get; }

    public IReadOnlyList<EnsembleStep> Steps { get; }

    /// <summary>The ensemble's outputs, in config order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The step that writes ensemble tensor <paramref name="tensor"/>, or -1 for an ensemble input.</summary>
    public int ProducerOf(string tensor) => _producers.GetValueOrDefault(tensor, -1);

    /// <summary>The first step that reads ensemble tensor <paramref name="tensor"/>, or null when none does.</summary>
    public int? ConsumerOf(string tensor)
    {
        foreach (var s in Steps)
        {
            foreach (var (_, t) in s.Inputs)
            {
                if (t == tensor)
                {
                    return s.Index;
                }
            }
        }
        return null;
    }

    /// <summary>The distinct composing model names, in step order.</summary>
    public static IReadOnlyList<string> ComposingModels(ModelConfig config) =>
        [.. config.EnsembleScheduling.Step.Select(s => s.ModelName).Distinct(StringComparer.Ordinal)];

    /// <summary>Links a config that <see cref="EnsembleConfigValidator"/> accepted to the composing models' configs.</summary>
    /// <param name="composingConfig">The serving config of a model version (-1: latest), or why there is none.</param>
    public static Result<EnsemblePlan> Link(ModelConfig config, string f, Func<string, long, Result<ModelConfig>> composingConfig)
    {
        var ensembleBatching = config.MaxBatchSize > 0;
        var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var t in config.Input)
        {
            tensors[t.Name] = new TensorInfo(t.DataType, t.Reshape is null ? [.. t.Dims] : [.. t.Reshape.Shape], ensembleBatching, $"ensemble '{config.Name}'");
        }
        var declaredOutputs = config.Output.ToDictionary(
            t => t.Name, t => new TensorInfo(t.DataType, t.Reshape is null ? [.. t.Dims] : [.. t.Reshape.Shape], ensembleBatching, $"ensemble '{config.Name}'"), StringComparer.Ordinal);

        var configs = new ModelConfig[config.EnsembleScheduling.Step.Count];
        var steps = new List<EnsembleStep>();
        var producers = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < configs.Length; i++)
        {
            var step = config.EnsembleScheduling.Step[i];
            var path = $"ensemble_scheduling.step[{i}]";
            var version = step.ModelVersion <= 0 ? -1 : step.ModelVersion;
            var composing = composingConfig(step.ModelName, version);
            if (!composing.IsSuccess)
            {
                return ConfigErrors.Invalid(f, path + ".model_name",
                    $"composing model '{step.ModelName}'{(version > 0 ? $" version {version}" : "")} of ensemble '{config.Name}' is not available: {composing.Error!.Message}");
            }
            var c = configs[i] = composing.Value!;
            if (c.MaxBatchSize != 0 && c.MaxBatchSize < config.MaxBatchSize)
            {
                return ConfigErrors.Invalid(f, path + ".model_name",
                    $"ensemble {config.Name} allows maximum batch size {config.MaxBatchSize}, but it contains model {step.ModelName} which only allows maximum batch size to be {c.MaxBatchSize}");
            }
            var outputs = new List<(string, string)>();
            foreach (var (modelOutput, tensor) in step.OutputMap.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var o = c.Output.FirstOrDefault(x => x.Name == modelOutput);
                if (o is null)
                {
                    return ConfigErrors.Invalid(f, $"{path}.output_map[\"{modelOutput}\"]",
                        $"in ensemble {config.Name}, ensemble tensor {tensor} is mapped from non-existing output {modelOutput} in model {step.ModelName}");
                }
                var info = new TensorInfo(o.DataType, o.Reshape is null ? [.. o.Dims] : [.. o.Reshape.Shape], c.MaxBatchSize > 0, $"model {step.ModelName}");
                if (declaredOutputs.TryGetValue(tensor, out var declared) && Inconsistent(declared, info) is { } why)
                {
                    return ConfigErrors.Invalid(f, $"{path}.output_map[\"{modelOutput}\"]", $"in ensemble {config.Name}, ensemble tensor {tensor}: {why}");
                }
                tensors[tensor] = info;
                producers[tensor] = i;
                outputs.Add((modelOutput, tensor));
            }
            steps.Add(new EnsembleStep(i, step.ModelName, version, [], outputs));
        }
        for (var i = 0; i < configs.Length; i++)
        {
            var step = config.EnsembleScheduling.Step[i];
            var c = configs[i];
            var path = $"ensemble_scheduling.step[{i}]";
            var inputs = new List<(string, string)>();
            foreach (var (modelInput, tensor) in step.InputMap.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var input = c.Input.FirstOrDefault(x => x.Name == modelInput);
                if (input is null)
                {
                    return ConfigErrors.Invalid(f, $"{path}.input_map[\"{modelInput}\"]",
                        $"in ensemble {config.Name}, ensemble tensor {tensor} is mapping to non-existing input {modelInput} in model {step.ModelName}");
                }
                var info = new TensorInfo(input.DataType, input.Reshape is null ? [.. input.Dims] : [.. input.Reshape.Shape], c.MaxBatchSize > 0, $"model {step.ModelName}");
                if (Inconsistent(tensors[tensor], info) is { } why)
                {
                    return ConfigErrors.Invalid(f, $"{path}.input_map[\"{modelInput}\"]", $"in ensemble {config.Name}, ensemble tensor {tensor}: {why}");
                }
                inputs.Add((modelInput, tensor));
            }
            foreach (var input in c.Input)
            {
                if (!input.Optional && !step.InputMap.ContainsKey(input.Name))
                {
                    return ConfigErrors.Invalid(f, path + ".input_map",
                        $"in ensemble {config.Name}, input {input.Name} in model {step.ModelName} is not mapped to any ensemble tensors");
                }
            }
            steps[i] = steps[i] with { Inputs = inputs };
        }
        return new EnsemblePlan(config, steps, producers);
    }

    private static string? Inconsistent(TensorInfo a, TensorInfo b)
    {
        if (a.Type != b.Type)
        {
            return $"inconsistent data type: {TypeName(a.Type)} is inferred from {a.Source} while {TypeName(b.Type)} is inferred from {b.Source}";
        }
        var same = a.Batching == b.Batching ? Compatible(a.Dims, b.Dims) : Compatible(a.FullDims, b.FullDims);
        return same ? null
            : $"inconsistent shape: [{string.Join(",", a.FullDims)}] is inferred from {a.Source} while [{string.Join(",", b.FullDims)}] is inferred from {b.Source}";
    }

    private static string TypeName(DataType type) => "TYPE_" + ((Core.DataType)(int)type).ToString().ToUpperInvariant();

    private static bool Compatible(long[] a, long[] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First == -1 || p.Second == -1 || p.First == p.Second);

    private sealed record TensorInfo(DataType Type, long[] Dims, bool Batching, string Source)
    {
        public long[] FullDims => Batching ? [-1, .. Dims] : Dims;
    }
}
