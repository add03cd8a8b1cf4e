using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Caching;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Inference.Server.Scheduling.RateLimiting;
using Inference.Server.Scheduling.Sequence;
using Microsoft.Extensions.Logging;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// Turns a model folder into serving versions: read (or take the override) config, auto-complete it from
/// the ONNX model, validate it, then per selected version create the instances, the scheduler, and run
/// the warmup. Stateless; the model manager decides when to call it and what to do with the result.
/// Every file comes through the <see cref="ModelRepository"/>, which keeps them inside the repository, and every
/// message of the result names files relative to the repository (<see cref="ModelRepository.WithoutRoot"/>): they
/// reach the callers of the load API and the repository index.
/// </summary>
public sealed class ModelVersionLoader(
    ModelRepository repository, TimeProvider timeProvider, ILoggerFactory loggerFactory,
    IModelStatisticsObserverFactory? statisticsObservers = null, RateLimiter? rateLimiter = null, ResponseCache? responseCache = null)
{
    public ModelRepository Repository => repository;

    /// <summary>The server whose models an ensemble's steps run on (the model manager sets itself); without it an
    /// ensemble fails to load.</summary>
    public IInferenceServer? Server { get; set; }

    /// <summary>Loads off the caller's thread: session creation is synchronous and CPU-heavy. The model is read from
    /// <paramref name="from"/> when given (a folder written from a load request's files, <see cref="ModelFileStore"/>),
    /// else from the server's repository; messages name files relative to the one it was read from.</summary>
    public Task<ModelLoadResult> LoadAsync(string name, ModelConfig? overrideConfig, CancellationToken cancellationToken, ModelRepository? from = null)
    {
        var source = from ?? repository;
        return Task.Run(() => WithoutRootPath(source, Load(source, name, overrideConfig)), cancellationToken);
    }

    /// <summary>The config a model serves with (its latest ready version's), else its config in the repository; null
    /// when it has neither. What the ensemble cycle check walks.</summary>
    public ModelConfig? ConfigOf(string name) =>
        Server?.GetModelConfig(name) is { IsSuccess: true } loaded ? loaded.Value : EnsembleLoadOrder.DiskConfig(repository, name);

    private static ModelLoadResult WithoutRootPath(ModelRepository source, ModelLoadResult result) => result with
    {
        Error = result.Error is { } e ? e with { Message = source.WithoutRoot(e.Message) } : null,
        Statuses = [.. result.Statuses.Select(s => s with { Reason = source.WithoutRoot(s.Reason) })],
    };

    private ModelLoadResult Load(ModelRepository source, string name, ModelConfig? overrideConfig)
    {
        var fingerprint = source.Fingerprint(name);
        var read = source.ReadModel(name, overrideConfig);
        if (!read.IsSuccess)
        {
            return ModelLoadResult.Failed(read.Error!, fingerprint);
        }
        var folder = read.Value!;
        if (EnsembleConfigValidator.IsEnsemble(folder.Config))
        {
            return EnsembleLoader.Load(name, folder, fingerprint, Server, responseCache, statisticsObservers, timeProvider, ConfigOf);
        }
        var candidates = ModelRepository.SelectVersions(folder, folder.Config?.VersionPolicy);
        var newest = candidates.LastOrDefault(v => v.IsValid);
        if (newest is null)
        {
            return ModelLoadResult.Failed(new InferenceError(ErrorCode.NotFound, candidates.Count == 0
                ? $"failed to load '{name}': no version folder with a model file matches the version policy"
                : $"failed to load '{name}': {candidates[^1].Error}"), fingerprint);
        }

        var signature = OnnxSignatureReader.TryRead(newest.ModelFilePath!);
        if (!signature.IsSuccess)
        {
            return ModelLoadResult.Failed(signature.Error! with { Message = $"failed to load '{name}': {signature.Error!.Message}" }, fingerprint);
        }
        var autoGroups = InstancePlacement.AutoGroups(folder.Config);
        // Probe CUDA only when the answer matters (no instance group, or KIND_AUTO without GPUs named): loading the CUDA
        // provider prints ONNX Runtime's own error on a machine without CUDA, which a KIND_CPU config never asked for.
        var gpuMatters = folder.Config is not { InstanceGroup.Count: > 0 } config0
            || config0.InstanceGroup.Any(g => g.Kind == Protos.ModelInstanceGroup.Types.Kind.Auto && g.Gpus.Count == 0);
        var completed = ModelConfigAutoComplete.Complete(folder.Config, signature.Value!, name, gpuAvailable: gpuMatters && GpuProbe.Available);
        if (!completed.IsSuccess)
        {
            return ModelLoadResult.Failed(completed.Error!, fingerprint);
        }
        var config = completed.Value!;
        if (ModelConfigValidator.Validate(config, folder.ConfigSource, name) is { } invalid)
        {
            return ModelLoadResult.Failed(invalid, fingerprint);
        }
        var labels = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var output in config.Output)
        {
            var read1 = source.ReadLabels(folder, output);
            if (!read1.IsSuccess)
            {
                return ModelLoadResult.Failed(read1.Error!, fingerprint);
            }
            if (read1.Value is { } l)
            {
                labels[output.Name] = l;
            }
        }
        var settings = OnnxSessionSettings.FromConfig(config);
        if (!settings.IsSuccess)
        {
            return ModelLoadResult.Failed(settings.Error!, fingerprint);
        }
        var placement = InstancePlacement.Place(config, autoGroups, settings.Value!.Accelerators.UsesTensorRt, GpuProbe.Check);
        if (!placement.IsSuccess)
        {
            return ModelLoadResult.Failed(placement.Error! with { Message = $"failed to load '{name}': {placement.Error!.Message}" }, fingerprint);
        }
        var fallbackLogger = loggerFactory.CreateLogger("Inference.Server.Repository");
        foreach (var g in placement.Value!.Where(g => g.FallbackReason is not null))
        {
            InstancePlacement.LogGpuFallback(fallbackLogger, name, g.Name, g.Devices.Count, g.FallbackReason!);
        }
        var schedulerOptions = SchedulerOptionsMapper.FromConfig(config);
        if (config.ResponseCache?.Enable == true && responseCache is not { IsEnabled: true })
        {
            ResponseCacheLog.NoServerCache(fallbackLogger, name);
        }
        var schema = ModelIOSchema.Create(config);

        var ready = new List<LoadedModelVersion>();
        var statuses = new List<VersionStatus>();
        foreach (var version in ModelRepository.SelectVersions(folder, config.VersionPolicy))
        {
            if (!version.IsValid)
            {
                statuses.Add(new VersionStatus(version.Version, ModelVersionState.Unavailable, version.Error!));
                continue;
            }
            var loaded = LoadVersion(source, name, version.Version, version.ModelFilePath!, config, settings.Value!, labels, schedulerOptions, schema, placement.Value!);
            if (loaded.IsSuccess)
            {
                ready.Add(loaded.Value!);
                statuses.Add(new VersionStatus(version.Version, ModelVersionState.Ready, ""));
            }
            else
            {
                statuses.Add(new VersionStatus(version.Version, ModelVersionState.Unavailable, loaded.Error!.Message));
            }
        }
        return new ModelLoadResult(ready, statuses, null, fingerprint);
    }

    private Result<LoadedModelVersion> LoadVersion(
        ModelRepository source, string name, long version, string modelPath, ModelConfig config, OnnxSessionSettings settings,
        IReadOnlyDictionary<string, string[]>? labels, SchedulerOptions schedulerOptions, ModelIOSchema schema,
        IReadOnlyList<PlacedGroup> placement)
    {
        var instances = new List<IModelInstance>();
        try
        {
            foreach (var group in placement)
            {
                var index = 0;
                foreach (var device in group.Devices)
                {
                    var instance = OnnxRuntimeBackend.CreateInstance($"{group.Name}_{index++}", modelPath, config, settings, device, version, labels);
                    if (!instance.IsSuccess)
                    {
                        throw new ModelLoadException(instance.Error!);
                    }
                    var limited = InstanceRateLimiting.Wrap(rateLimiter, config.InstanceGroup[group.Index], instance.Value!, device);
                    if (!limited.IsSuccess)
                    {
                        instance.Value!.Dispose();
                        throw new ModelLoadException(limited.Error!);
                    }
                    instances.Add(limited.Value!);
                }
            }
            // Each instance's scheduler thread prepares it (CUDA graphs are captured on the thread that replays
            // them) and runs the warmup samples; the version is ready only when all have.
            var cached = config.ResponseCache?.Enable == true && responseCache is { IsEnabled: true };
            var statistics = new ModelStatistics(statisticsObservers?.Create(name, version)) { ResponseCacheEnabled = cached };
            var (scheduler, prepared) = CreateScheduler(source, name, config, schedulerOptions, instances, statistics);
            if (prepared.GetAwaiter().GetResult() is { } prepareError)
            {
                scheduler.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw new ModelLoadException(prepareError);
            }
            statistics.RecordGpuFallback(placement.Where(g => g.FallbackReason is not null).Sum(g => g.Devices.Count));
            IScheduler serving = cached ? new CachingScheduler(scheduler, responseCache!, version, statistics, timeProvider) : scheduler;
            return new LoadedModelVersion(name, version, config, schema, instances, serving, statistics);
        }
        catch (ModelLoadException e)
        {
            DisposeAll(instances);
            return e.Error with { Message = $"failed to load '{name}' version {version}: {e.Error.Message}" };
        }
        catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or IOException or InvalidOperationException)
        {
            DisposeAll(instances);
            return new InferenceError(ErrorCode.Internal, $"failed to load '{name}' version {version}: {e.Message}");
        }
    }

    private (IScheduler Scheduler, Task<InferenceError?> Prepared) CreateScheduler(
        ModelRepository source, string name, ModelConfig config, SchedulerOptions options, List<IModelInstance> instances, ModelStatistics statistics)
    {
        var logger = loggerFactory.CreateLogger("Inference.Server.Scheduling");
        Func<IModelInstance, InferenceError?> warmup = instance => WarmupRunner.RunOn(config, instance, source);
        if (config.SchedulingChoiceCase == ModelConfig.SchedulingChoiceOneofCase.SequenceBatching)
        {
            var sequence = new SequenceBatchScheduler(name, SequenceBatchingConfig.ToSettings(config), instances, statistics, timeProvider, logger, warmup);
            return (sequence, sequence.Prepared);
        }
        var dynamic = new DynamicBatchScheduler(name, options, instances, statistics, timeProvider, logger, warmup);
        return (dynamic, dynamic.Prepared);
    }

    private static void DisposeAll(List<IModelInstance> instances)
    {
        foreach (var i in instances)
        {
            i.Dispose();
        }
    }

    private sealed class ModelLoadException(InferenceError error) : Exception(error.Message)
    {
        public InferenceError Error { get; } = error;
    }
}
