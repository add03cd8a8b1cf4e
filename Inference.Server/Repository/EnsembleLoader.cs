using Inference.Server.Caching;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// Loads an ensemble (platform <c>ensemble</c>): its config needs no model file and no auto-completion; it is checked
/// on its own (<see cref="EnsembleConfigValidator"/>; a config without a name takes the model's, as Triton's), for
/// cycles through other ensembles (<see cref="EnsembleLoadOrder.FindCycle"/>), then against the composing models,
/// which must be loaded first (<see cref="EnsemblePlan.Link"/>). Every version folder the version policy selects serves the same plan through
/// an <see cref="EnsembleScheduler"/> (behind the response cache when the ensemble enables it and the server has one).
/// </summary>
internal static class EnsembleLoader
{
    public static ModelLoadResult Load(
        string name, ModelFolder folder, string? fingerprint, IInferenceServer? server, ResponseCache? responseCache,
        IModelStatisticsObserverFactory? statisticsObservers, TimeProvider timeProvider, Func<string, ModelConfig?> configOf)
    {
        var config = folder.Config!;
        if (Check(name, config, folder.ConfigSource, configOf) is { } invalid)
        {
            return ModelLoadResult.Failed(invalid, fingerprint);
        }
        config = WithName(config, name);
        if (server is null)
        {
            return ModelLoadResult.Failed(new InferenceError(ErrorCode.Unsupported, $"failed to load '{name}': ensembles need the model manager"), fingerprint);
        }
        var plan = EnsemblePlan.Link(config, folder.ConfigSource, server.GetModelConfig);
        if (!plan.IsSuccess)
        {
            return ModelLoadResult.Failed(plan.Error!, fingerprint);
        }
        var versions = ModelRepository.SelectVersions(folder, config.VersionPolicy);
        if (versions.Count == 0)
        {
            return ModelLoadResult.Failed(new InferenceError(ErrorCode.NotFound,
                $"failed to load '{name}': no version folder matches the version policy"), fingerprint);
        }
        var schema = ModelIOSchema.Create(config);
        var cached = config.ResponseCache?.Enable == true && responseCache is { IsEnabled: true };
        var ready = new List<LoadedModelVersion>();
        var statuses = new List<VersionStatus>();
        foreach (var v in versions)
        {
            if (!Directory.Exists(v.Path))
            {
                statuses.Add(new VersionStatus(v.Version, ModelVersionState.Unavailable, v.Error ?? "no version folder"));
                continue;
            }
            var statistics = new ModelStatistics(statisticsObservers?.Create(name, v.Version)) { ResponseCacheEnabled = cached };
            IScheduler scheduler = new EnsembleScheduler(plan.Value!, v.Version, server, statistics, timeProvider);
            if (cached)
            {
                scheduler = new CachingScheduler(scheduler, responseCache!, v.Version, statistics, timeProvider);
            }
            ready.Add(new LoadedModelVersion(name, v.Version, config, schema, [], scheduler, statistics));
            statuses.Add(new VersionStatus(v.Version, ModelVersionState.Ready, ""));
        }
        return new ModelLoadResult(ready, statuses, null, fingerprint);
    }

    /// <summary>The checks that need no composing model: the config on its own, then cycles through other ensembles
    /// (whose configs <paramref name="configOf"/> gives). Null when both pass.</summary>
    public static InferenceError? Check(string name, ModelConfig config, string source, Func<string, ModelConfig?> configOf)
    {
        config = WithName(config, name);
        if (EnsembleConfigValidator.Validate(config, source, name) is { } invalid)
        {
            return invalid;
        }
        return EnsembleLoadOrder.FindCycle(name, config, configOf) is { } cycle
            ? ConfigErrors.Invalid(source, $"ensemble_scheduling.step[{cycle.Step}].model_name", $"circular dependency between ensembles: {cycle.Path}")
            : null;
    }

    private static ModelConfig WithName(ModelConfig config, string name)
    {
        if (config.Name.Length > 0)
        {
            return config;
        }
        var named = config.Clone();
        named.Name = name;
        return named;
    }
}
