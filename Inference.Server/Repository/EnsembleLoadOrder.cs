namespace Inference.Server.Repository;

/// <summary>
/// The order in which to load models so that every ensemble loads after its composing models (Triton loads an
/// ensemble once its dependencies are loaded), with the composing models of the named ensembles added (in explicit
/// mode, loading an ensemble loads its composing models). Reads each model's config from the repository; a model
/// whose config does not read, or that is not an ensemble, has no dependencies. Cycles are cut (the ensemble's load
/// then reports the missing model).
/// </summary>
public static class EnsembleLoadOrder
{
    public static List<string> Order(ModelRepository repository, IEnumerable<string> names)
    {
        var order = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            Visit(repository, name, visited, order);
        }
        return order;
    }

    /// <summary>The composing models of <paramref name="name"/> that the repository has, in step order; empty for a
    /// model that is not an ensemble.</summary>
    public static IReadOnlyList<string> ComposingModels(ModelRepository repository, string name)
    {
        if (!repository.Contains(name))
        {
            return [];
        }
        var read = repository.ReadModel(name);
        return read.IsSuccess && EnsembleConfigValidator.IsEnsemble(read.Value!.Config) && read.Value!.Config!.EnsembleScheduling is not null
            ? [.. EnsemblePlan.ComposingModels(read.Value!.Config!).Where(repository.Contains)]
            : [];
    }

    private static void Visit(ModelRepository repository, string name, HashSet<string> visited, List<string> order)
    {
        if (!visited.Add(name))
        {
            return;
        }
        foreach (var dependency in ComposingModels(repository, name))
        {
            Visit(repository, dependency, visited, order);
        }
        order.Add(name);
    }
}
