using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// The dependency graph of ensembles over the repository (Triton's model repository manager's dependency graph):
/// the order in which to load models so that every ensemble loads after its composing models (Triton loads an
/// ensemble once its dependencies are loaded), with the composing models of the named ensembles added (in explicit
/// mode, loading an ensemble loads its composing models), and the cycles between ensembles, which fail the load.
/// Reads each model's config from the repository; a model whose config does not read, or that is not an ensemble,
/// has no dependencies. <see cref="Order"/> cuts cycles; <see cref="FindCycle"/> names them.
/// </summary>
public static class EnsembleLoadOrder
{
    public static List<string> Order(ModelRepository repository, IEnumerable<string> names, ModelConfig? firstConfig = null)
    {
        var order = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var first = true;
        foreach (var name in names)
        {
            Visit(repository, name, first ? firstConfig : null, visited, order);
            first = false;
        }
        return order;
    }

    /// <summary>The composing models of <paramref name="name"/> that the repository has, in step order; empty for a
    /// model that is not an ensemble.</summary>
    public static IReadOnlyList<string> ComposingModels(ModelRepository repository, string name) =>
        [.. StepModels(DiskConfig(repository, name)).Where(repository.Contains)];

    /// <summary>The distinct model names the steps of <paramref name="config"/> run, in step order; empty when it is
    /// not an ensemble.</summary>
    public static IReadOnlyList<string> StepModels(ModelConfig? config) =>
        EnsembleConfigValidator.IsEnsemble(config) && config!.EnsembleScheduling is not null ? EnsemblePlan.ComposingModels(config) : [];

    /// <summary>The config of <paramref name="name"/> in the repository, or null when it has none that reads.</summary>
    public static ModelConfig? DiskConfig(ModelRepository repository, string name)
    {
        if (!repository.Contains(name))
        {
            return null;
        }
        var read = repository.ReadModel(name);
        return read.IsSuccess ? read.Value!.Config : null;
    }

    /// <summary>
    /// A cycle of ensembles through <paramref name="name"/> whose config is <paramref name="config"/>, as the path
    /// <c>name -> ... -> name</c> (Triton refuses them: "circular dependency between ensembles"), with the index of the
    /// step of <paramref name="config"/> that starts it; null when there is none. Other models' configs come from
    /// <paramref name="configOf"/> (null: not an ensemble, or unknown).
    /// </summary>
    public static (string Path, int Step)? FindCycle(string name, ModelConfig config, Func<string, ModelConfig?> configOf)
    {
        if (!EnsembleConfigValidator.IsEnsemble(config) || config.EnsembleScheduling is null)
        {
            return null;
        }
        for (var i = 0; i < config.EnsembleScheduling.Step.Count; i++)
        {
            var path = new List<string> { name };
            if (Reaches(config.EnsembleScheduling.Step[i].ModelName, name, configOf, path, new HashSet<string>(StringComparer.Ordinal)))
            {
                return (string.Join(" -> ", path), i);
            }
        }
        return null;
    }

    private static bool Reaches(string current, string target, Func<string, ModelConfig?> configOf, List<string> path, HashSet<string> seen)
    {
        path.Add(current);
        if (current == target)
        {
            return true;
        }
        if (seen.Add(current))
        {
            foreach (var next in StepModels(configOf(current)))
            {
                if (Reaches(next, target, configOf, path, seen))
                {
                    return true;
                }
            }
        }
        path.RemoveAt(path.Count - 1);
        return false;
    }

    private static void Visit(ModelRepository repository, string name, ModelConfig? config, HashSet<string> visited, List<string> order)
    {
        if (!visited.Add(name))
        {
            return;
        }
        var steps = config is null ? ComposingModels(repository, name) : [.. StepModels(config).Where(repository.Contains)];
        foreach (var dependency in steps)
        {
            Visit(repository, dependency, null, visited, order);
        }
        order.Add(name);
    }
}
