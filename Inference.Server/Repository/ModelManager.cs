using System.Collections.Concurrent;
using Inference.Server.Core;
using Inference.Server.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// The model manager (Triton's model repository manager): owns every model's lifecycle under the
/// configured control mode and answers the front-ends. Loads, reloads and unloads of one model are
/// serialized by that model's gate; inference reads an immutable snapshot per model without locks.
/// A failed reload leaves the versions that were serving in place.
/// </summary>
public sealed partial class ModelManager : IInferenceServer, IAsyncDisposable
{
    private static readonly ServerMetadata ServerInfo = new(
        "aspire-inference",
        typeof(ModelManager).Assembly.GetName().Version?.ToString(3) ?? "0.1.0",
        ["classification", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
         "model_configuration", "statistics", "binary_tensor_data"]);

    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly InferenceServerOptions _options;
    private readonly ModelVersionLoader _loader;
    private readonly ILogger<ModelManager> _logger;
    private volatile bool _startupDone;
    private volatile bool _stopping;

    public ModelManager(IOptions<InferenceServerOptions> options, ModelVersionLoader loader, ILogger<ModelManager> logger)
    {
        _options = options.Value;
        _loader = loader;
        _logger = logger;
    }

    public ServerMetadata Metadata => ServerInfo;

    public bool IsLive => !_stopping;

    public bool IsReady => _startupDone && !_stopping && (!_options.StrictReadiness || AllLoadedModelsReady());

    public ModelControlMode ControlMode => _options.ModelControlMode;

    /// <summary>True once the start-up loads have finished, whatever their outcome.</summary>
    public bool StartupCompleted => _startupDone;

    public ModelRepository Repository => _loader.Repository;

    /// <summary>Loads what the control mode asks for at start: every model (none, poll) or the named ones (explicit).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IEnumerable<string> names = _options.ModelControlMode == ModelControlMode.Explicit && !_options.LoadModels.Contains("*")
            ? _options.LoadModels
            : Repository.ListModelNames();
        foreach (var name in names)
        {
            await LoadCoreAsync(name, null, cancellationToken).ConfigureAwait(false);
        }
        _startupDone = true;
        LogStarted(_logger, Repository.RootPath, _options.ModelControlMode, _models.Count(m => m.Value.Snapshot.Latest is not null));
    }

    public bool IsModelReady(string name, long version = -1) => Resolve(name, version, out _) is null;

    public Result<ModelMetadata> GetModelMetadata(string name, long version = -1)
    {
        if (Resolve(name, version, out var loaded) is { } error)
        {
            return error;
        }
        var snapshot = _models[name].Snapshot;
        return ModelMetadataBuilder.Build(loaded!, [.. snapshot.Versions.Keys.Order().Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
    }

    public Result<ModelConfig> GetModelConfig(string name, long version = -1)
    {
        if (Resolve(name, version, out var loaded) is { } error)
        {
            return error;
        }
        return loaded!.Config;
    }

    public Result<IReadOnlyList<ModelStatisticsEntry>> GetStatistics(string? name = null, long version = -1)
    {
        if (name is null)
        {
            return Result(_models.Values.SelectMany(m => m.Snapshot.Versions.Values)
                .OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.Version)
                .Select(ToStatistics).ToList());
        }
        if (!_models.TryGetValue(name, out var entry) || entry.Snapshot.Versions.Count == 0)
        {
            return Resolve(name, version, out _)!;
        }
        if (version < 0)
        {
            return Result(entry.Snapshot.Versions.Values.OrderBy(v => v.Version).Select(ToStatistics).ToList());
        }
        if (Resolve(name, version, out var loaded) is { } error)
        {
            return error;
        }
        return Result([ToStatistics(loaded!)]);

        static Result<IReadOnlyList<ModelStatisticsEntry>> Result(List<ModelStatisticsEntry> list) => list;
    }

    public IReadOnlyList<RepositoryIndexEntry> GetRepositoryIndex(bool readyOnly = false)
    {
        var names = new SortedSet<string>(Repository.ListModelNames(), StringComparer.Ordinal);
        names.UnionWith(_models.Keys);
        var rows = new List<RepositoryIndexEntry>();
        foreach (var name in names)
        {
            var statuses = _models.TryGetValue(name, out var entry) ? entry.Snapshot.Statuses : [];
            if (statuses.Count == 0 && !readyOnly)
            {
                rows.Add(new RepositoryIndexEntry(name, "", "", ""));
            }
            foreach (var s in statuses)
            {
                if (!readyOnly || s.State == ModelVersionState.Ready)
                {
                    rows.Add(new RepositoryIndexEntry(name, s.Version < 0 ? "" : s.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        s.State.ToString().ToUpperInvariant(), s.Reason));
                }
            }
        }
        return rows;
    }

    public Task<InferenceError?> LoadModelAsync(string name, string? configJson = null, CancellationToken cancellationToken = default)
    {
        if (_options.ModelControlMode != ModelControlMode.Explicit)
        {
            return Task.FromResult<InferenceError?>(ControlModeError("load"));
        }
        ModelConfig? overrideConfig = null;
        if (!string.IsNullOrWhiteSpace(configJson))
        {
            var parsed = ModelConfigJson.Parse(configJson);
            if (!parsed.IsSuccess)
            {
                return Task.FromResult<InferenceError?>(parsed.Error! with { Message = $"failed to load '{name}': invalid config override: {parsed.Error!.Message}" });
            }
            if (ConfigOverrideRules.Check(parsed.Value!, name) is { } refused)
            {
                return Task.FromResult<InferenceError?>(refused with { Message = $"failed to load '{name}': {refused.Message}" });
            }
            overrideConfig = parsed.Value;
        }
        return LoadCoreAsync(name, overrideConfig, cancellationToken);
    }

    public async Task<InferenceError?> UnloadModelAsync(string name, CancellationToken cancellationToken = default)
    {
        if (_options.ModelControlMode != ModelControlMode.Explicit)
        {
            return ControlModeError("unload");
        }
        if (!_models.TryGetValue(name, out var entry))
        {
            return Repository.ListModelNames().Contains(name)
                ? null
                : new InferenceError(ErrorCode.NotFound, $"failed to unload '{name}': no such model in the repository");
        }
        await UnloadCoreAsync(entry, "unloaded", cancellationToken).ConfigureAwait(false);
        return null;
    }

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        if (Resolve(request.ModelName, request.ModelVersion, out var loaded) is { } error)
        {
            request.Dispose();
            return ValueTask.FromResult(InferenceResult.Failure(error));
        }
        if (loaded!.Schema.Validate(request) is { } invalid)
        {
            request.Dispose();
            return ValueTask.FromResult(InferenceResult.Failure(invalid));
        }
        return loaded.Scheduler.InferAsync(request);
    }

    /// <summary>One poll-mode pass: loads new models, reloads changed ones, unloads removed ones.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var onDisk = Repository.ListModelNames().ToHashSet(StringComparer.Ordinal);
        foreach (var name in onDisk)
        {
            var fingerprint = Repository.Fingerprint(name);
            if (!_models.TryGetValue(name, out var entry) || entry.Fingerprint != fingerprint)
            {
                LogReloading(_logger, name);
                await LoadCoreAsync(name, null, cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var (name, entry) in _models)
        {
            if (!onDisk.Contains(name) && entry.Snapshot.Statuses.Count > 0)
            {
                await UnloadCoreAsync(entry, "removed from the repository", cancellationToken).ConfigureAwait(false);
                _models.TryRemove(name, out _);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        foreach (var entry in _models.Values)
        {
            await UnloadCoreAsync(entry, "server shutting down", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static ModelStatisticsEntry ToStatistics(LoadedModelVersion v) =>
        new(v.Name, v.VersionText, v.Statistics, v.Scheduler.InflightCount);

    private InferenceError ControlModeError(string verb) => new(ErrorCode.Unsupported,
        $"explicit model {verb} is not allowed in model control mode '{_options.ModelControlMode.ToString().ToLowerInvariant()}'; start the server with --model-control-mode=explicit");

    private bool AllLoadedModelsReady()
    {
        foreach (var entry in _models.Values)
        {
            if (!entry.Wanted)
            {
                continue;
            }
            foreach (var s in entry.Snapshot.Statuses)
            {
                if (s.State != ModelVersionState.Ready)
                {
                    return false;
                }
            }
        }
        return true;
    }

    /// <summary>Finds the version to serve, or says why there is none.</summary>
    private InferenceError? Resolve(string name, long version, out LoadedModelVersion? loaded)
    {
        loaded = null;
        if (!_models.TryGetValue(name, out var entry))
        {
            return new InferenceError(ErrorCode.NotFound, $"Request for unknown model: '{name}' is not found");
        }
        var snapshot = entry.Snapshot;
        loaded = version < 0 ? snapshot.Latest : snapshot.Versions.GetValueOrDefault(version);
        if (loaded is not null)
        {
            return null;
        }
        if (version >= 0 && snapshot.Statuses.All(s => s.Version != version))
        {
            return new InferenceError(ErrorCode.NotFound, $"Request for unknown model: '{name}' version {version} is not found");
        }
        var reason = snapshot.Statuses.FirstOrDefault(s => version < 0 || s.Version == version)?.Reason;
        return new InferenceError(ErrorCode.NotReady,
            version < 0 ? $"model '{name}' has no available versions" + (string.IsNullOrEmpty(reason) ? "" : $": {reason}")
                        : $"model '{name}' version {version} is not ready" + (string.IsNullOrEmpty(reason) ? "" : $": {reason}"));
    }

    private async Task<InferenceError?> LoadCoreAsync(string name, ModelConfig? overrideConfig, CancellationToken cancellationToken)
    {
        var entry = _models.GetOrAdd(name, static _ => new ModelEntry());
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            entry.Wanted = true;
            var old = entry.Snapshot;
            entry.Snapshot = new ModelServingSnapshot(old.Versions.Values,
                old.Statuses.Count == 0 ? [new VersionStatus(-1, ModelVersionState.Loading, "")] : old.Statuses);
            var result = await _loader.LoadAsync(name, overrideConfig, cancellationToken).ConfigureAwait(false);
            entry.Fingerprint = result.Fingerprint;
            if (result.Ready.Count == 0 && old.Versions.Count > 0)
            {
                // A failed reload keeps what was serving (Triton's behaviour); the index says why.
                var reason = result.Error?.Message ?? string.Join("; ", result.Statuses.Select(s => s.Reason));
                entry.Snapshot = new ModelServingSnapshot(old.Versions.Values,
                    old.Statuses.Select(s => s.State == ModelVersionState.Ready ? s with { Reason = "reload failed, previous version still serving: " + reason } : s));
                LogReloadFailed(_logger, name, reason);
                return result.Error ?? new InferenceError(ErrorCode.InvalidArgument, $"failed to load '{name}': {reason}");
            }
            entry.Snapshot = new ModelServingSnapshot(result.Ready, result.Statuses);
            foreach (var v in old.Versions.Values)
            {
                await v.DisposeAsync().ConfigureAwait(false);
            }
            if (result.Ready.Count == 0)
            {
                var reason = result.Error?.Message ?? string.Join("; ", result.Statuses.Select(s => s.Reason));
                LogLoadFailed(_logger, name, reason);
                return result.Error ?? new InferenceError(ErrorCode.InvalidArgument, $"failed to load '{name}': {reason}");
            }
            LogLoaded(_logger, name, string.Join(",", result.Ready.Select(v => v.VersionText)));
            return null;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task UnloadCoreAsync(ModelEntry entry, string reason, CancellationToken cancellationToken)
    {
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            entry.Wanted = false;
            var old = entry.Snapshot;
            entry.Snapshot = new ModelServingSnapshot([], old.Statuses.Select(s => s with { State = ModelVersionState.Unavailable, Reason = reason }));
            entry.Fingerprint = null;
            foreach (var v in old.Versions.Values)
            {
                await v.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>Per-model state. <see cref="Snapshot"/> is replaced whole under <see cref="Gate"/> and read without it.</summary>
    private sealed class ModelEntry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public volatile ModelServingSnapshot Snapshot = ModelServingSnapshot.Empty;
        public string? Fingerprint;

        /// <summary>Loaded on purpose (not unloaded since): counts for strict readiness.</summary>
        public volatile bool Wanted;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Serving repository {Repository} (control mode {Mode}); {Ready} model(s) ready")]
    private static partial void LogStarted(ILogger logger, string repository, ModelControlMode mode, int ready);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Model {Model} ready, version(s) {Versions}")]
    private static partial void LogLoaded(ILogger logger, string model, string versions);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Model {Model} failed to load: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Error, Message = "Reload of model {Model} failed; the versions that were serving stay: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Model {Model} changed on disk; reloading")]
    private static partial void LogReloading(ILogger logger, string model);
}
