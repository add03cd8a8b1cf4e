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
/// The API cannot grow its state: only names of the repository (<see cref="ModelRepository.Contains"/>) get an
/// entry, so a load of an invalid name (400) or of one that is not in the repository (404) changes nothing — not
/// the index, not readiness, not what later requests for that name get (404). An entry whose folder has gone is
/// dropped when it is unloaded (or by the poll); loading and unloading a model again and again keeps one entry.
/// The one exception is a successful load with model files (Triton's file override): its name need not be in the
/// repository, and it is served from a folder the <see cref="ModelFileStore"/> wrote, which the entry owns
/// (<see cref="ModelEntry.Written"/>) until the model is unloaded, reloaded (with other files, or without files, which
/// returns it to the repository's own folder) or the server stops; then the folder is deleted. A failed load with
/// files leaves nothing: no folder, and no entry for a name the repository does not have.
/// Ensembles follow their composing models as in Triton's dependency graph (<c>ModelManager.Ensembles.cs</c>).
/// </summary>
public sealed partial class ModelManager : IInferenceServer, IAsyncDisposable
{
    private static readonly ServerMetadata ServerInfo = new(
        "aspire-inference",
        typeof(ModelManager).Assembly.GetName().Version?.ToString(3) ?? "0.1.0",
        ["classification", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
         "model_configuration", "statistics", "binary_tensor_data", "system_shared_memory", "cuda_shared_memory", "trace", "logging"]);

    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);

    /// <summary>Names the start-up loads asked for that are not models of the repository: strict readiness waits
    /// for each until it loads or is unloaded. Filled only at start.</summary>
    private readonly ConcurrentDictionary<string, byte> _missingAtStart = new(StringComparer.Ordinal);
    private readonly InferenceServerOptions _options;
    private readonly ModelVersionLoader _loader;
    private readonly ModelFileStore _files;
    private readonly ILogger<ModelManager> _logger;
    private volatile bool _startupDone;
    private volatile bool _stopping;
    private volatile bool _draining;

    /// <param name="files">Where models loaded with files are written; the manager deletes what it holds when it is
    /// disposed. Default: a store of its own limited to <see cref="InferenceServerOptions.MaxModelFilesBytes"/>.</param>
    public ModelManager(IOptions<InferenceServerOptions> options, ModelVersionLoader loader, ILogger<ModelManager> logger, ModelFileStore? files = null)
    {
        _options = options.Value;
        _loader = loader;
        _files = files ?? new ModelFileStore(_options.MaxModelFilesBytes);
        _loader.Server = this;
        _logger = logger;
    }

    public ServerMetadata Metadata => ServerInfo;

    public bool IsLive => !_stopping;

    /// <summary>
    /// Up, start-up loads done, not stopping, and with strict readiness every model meant to be served is ready:
    /// the models the start-up loads asked for (whatever their outcome, including names not in the repository)
    /// and those loaded successfully since, until they are unloaded. A failed load through the API is an error
    /// to its caller only: of a name not in the repository, of a model not loaded yet, or a failed reload (the
    /// old versions keep serving) leaves the server as ready as it was, as in Triton. Never ready again once
    /// <see cref="BeginDrain"/> has been called.
    /// </summary>
    public bool IsReady => _startupDone && !_stopping && !_draining && (!_options.StrictReadiness || AllLoadedModelsReady());

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
        var named = names.ToHashSet(StringComparer.Ordinal);
        foreach (var name in EnsembleLoadOrder.Order(Repository, named))
        {
            if (UnknownModel(name, "load") is { } unknown)
            {
                _missingAtStart.TryAdd(name, 0);
                LogLoadFailed(_logger, name, unknown.Message);
                continue;
            }
            await LoadCoreAsync(name, null, null, new LoadKind(Startup: true, Explicit: named.Contains(name)), cancellationToken).ConfigureAwait(false);
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
        IEnumerable<long> versions = _models.TryGetValue(name, out var entry) ? entry.Snapshot.Versions.Keys : [loaded!.Version];
        return ModelMetadataBuilder.Build(loaded!, [.. versions.Order().Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
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

    /// <summary>One row per version of every model of the repository, plus the models still serving whose folder
    /// has gone; a model never loaded has one row without version or state.</summary>
    public IReadOnlyList<RepositoryIndexEntry> GetRepositoryIndex(bool readyOnly = false)
    {
        var names = new SortedSet<string>(Repository.ListModelNames(), StringComparer.Ordinal);
        names.UnionWith(_models.Where(m => m.Value.Snapshot.Versions.Count > 0).Select(m => m.Key));
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

    /// <summary>Triton's load API. With <paramref name="files"/> the name need not be in the repository, and a config
    /// is required: the model is served from the files (<see cref="ModelFileStore"/>) until its next load or unload.</summary>
    public Task<InferenceError?> LoadModelAsync(string name, string? configJson = null, IReadOnlyList<ModelFile>? files = null,
        CancellationToken cancellationToken = default)
    {
        if (_options.ModelControlMode != ModelControlMode.Explicit)
        {
            return Task.FromResult<InferenceError?>(ControlModeError("load"));
        }
        var withFiles = files is { Count: > 0 };
        if ((withFiles ? FilesError(name, files!, configJson) : UnknownModel(name, "load")) is { } notLoadable)
        {
            return Task.FromResult<InferenceError?>(notLoadable);
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
        return withFiles
            ? LoadAndFollowAsync(name, overrideConfig, new LoadKind(Startup: false, Explicit: true), cancellationToken, files: files)
            : LoadWithComposingModelsAsync(name, overrideConfig, cancellationToken);
    }

    /// <summary>Why a load with <paramref name="files"/> is refused before anything is written, as Triton checks it: an
    /// invalid name, a file path that leaves the model folder (<see cref="ModelFileStore.CheckPath"/>), or no config.</summary>
    private static InferenceError? FilesError(string name, IReadOnlyList<ModelFile> files, string? configJson)
    {
        if (ModelRepository.CheckModelName(name) is { } invalid)
        {
            return invalid with { Message = $"failed to load: {invalid.Message}" };
        }
        foreach (var file in files)
        {
            if (ModelFileStore.CheckPath(file.Path) is { } why)
            {
                return new InferenceError(ErrorCode.InvalidArgument, $"failed to load '{name}': file parameter 'file:{file.Path}': {why}");
            }
        }
        return string.IsNullOrWhiteSpace(configJson)
            ? new InferenceError(ErrorCode.InvalidArgument,
                $"failed to load '{name}': a 'config' parameter with the model config is required when model files are given")
            : null;
    }

    public async Task<InferenceError?> UnloadModelAsync(string name, bool unloadDependents = false, CancellationToken cancellationToken = default)
    {
        if (_options.ModelControlMode != ModelControlMode.Explicit)
        {
            return ControlModeError("unload");
        }
        _missingAtStart.TryRemove(name, out _);
        if (!_models.TryGetValue(name, out var entry))
        {
            return UnknownModel(name, "unload");
        }
        var composing = entry.Composing;
        await UnloadCoreAsync(entry, "unloaded", forget: !Repository.Contains(name), cancellationToken).ConfigureAwait(false);
        await SuspendDependentsAsync(name, cancellationToken).ConfigureAwait(false);
        if (unloadDependents)
        {
            await UnloadUnneededAsync(composing, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        if (_draining)
        {
            request.Dispose();
            return ValueTask.FromResult(InferenceResult.Failure(ShuttingDown));
        }
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
        if (request.Trace is { } trace)
        {
            trace.ModelVersion = loaded.Version;
        }
        return loaded.Scheduler.InferAsync(request);
    }

    /// <summary>One poll-mode pass: loads new models, reloads changed ones, unloads removed ones.</summary>
    public async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var onDisk = Repository.ListModelNames().ToHashSet(StringComparer.Ordinal);
        foreach (var name in EnsembleLoadOrder.Order(Repository, onDisk))
        {
            var fingerprint = Repository.Fingerprint(name);
            if (!_models.TryGetValue(name, out var entry) || entry.Fingerprint != fingerprint)
            {
                LogReloading(_logger, name);
                await LoadAndFollowAsync(name, null, new LoadKind(Startup: false, Explicit: true), cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var (name, entry) in _models)
        {
            if (!onDisk.Contains(name))
            {
                await UnloadCoreAsync(entry, "removed from the repository", forget: true, cancellationToken).ConfigureAwait(false);
                await SuspendDependentsAsync(name, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Starts the drain of a stopping server (Triton's --exit-timeout-secs, see <c>ServerDrain</c>): from now on the server
    /// is not ready and refuses new inference requests with <see cref="ErrorCode.Unavailable"/> ("server is shutting down"),
    /// while the requests already queued or executing go on and liveness, the models and the repository API stay as they are
    /// until <see cref="DisposeAsync"/>. Irreversible; idempotent; thread-safe.
    /// </summary>
    public void BeginDrain() => _draining = true;

    /// <summary>Inference requests that the schedulers of every loaded version have accepted and not yet completed
    /// (queued + executing). A request that passed <see cref="InferAsync"/>'s drain check just before <see cref="BeginDrain"/>
    /// may be counted a moment later.</summary>
    public int InflightCount => _models.Values.Sum(e => e.Snapshot.Versions.Values.Sum(v => v.Scheduler.InflightCount));

    /// <summary>Requests admitted to the queue of <paramref name="name"/>'s latest ready version and not yet executing
    /// (<see cref="IScheduler.QueuedCount"/>; 0 when it is not ready). The statistics' pending count starts earlier, as
    /// a request enters the scheduler, before its admission.</summary>
    internal int QueuedCount(string name) =>
        _models.TryGetValue(name, out var entry) && entry.Snapshot.Latest is { } latest ? latest.Scheduler.QueuedCount : 0;

    private static readonly InferenceError ShuttingDown = new(ErrorCode.Unavailable,
        "server is shutting down: no new inference requests are accepted");

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        foreach (var entry in _models.Values)
        {
            await UnloadCoreAsync(entry, "server shutting down", forget: false, CancellationToken.None).ConfigureAwait(false);
        }
        _files.Dispose();
    }

    private static ModelStatisticsEntry ToStatistics(LoadedModelVersion v) =>
        new(v.Name, v.VersionText, v.Statistics, v.Scheduler.InflightCount);

    /// <summary>Entries in the manager's dictionary (for tests: it holds only names of the repository).</summary>
    internal int TrackedModelCount => _models.Count;

    private InferenceError ControlModeError(string verb) => new(ErrorCode.Unsupported,
        $"explicit model {verb} is not allowed in model control mode '{_options.ModelControlMode.ToString().ToLowerInvariant()}'; start the server with --model-control-mode=explicit");

    /// <summary>Null when <paramref name="name"/> is a model of the repository; else why not: an invalid name
    /// (<see cref="ErrorCode.InvalidArgument"/>) or one the repository has no folder for (<see cref="ErrorCode.NotFound"/>).</summary>
    private InferenceError? UnknownModel(string name, string verb)
    {
        if (ModelRepository.CheckModelName(name) is { } invalid)
        {
            return invalid with { Message = $"failed to {verb}: {invalid.Message}" };
        }
        return Repository.Contains(name) ? null : new InferenceError(ErrorCode.NotFound, $"failed to {verb} '{name}': no such model in the repository");
    }

    /// <summary>Strict readiness: every model meant to be served is ready (see <see cref="IsReady"/>).</summary>
    private bool AllLoadedModelsReady()
    {
        if (!_missingAtStart.IsEmpty)
        {
            return false;
        }
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
        // Triton: no version to serve is NOT_FOUND; a named version that is not ready is UNAVAILABLE.
        return new InferenceError(version < 0 ? ErrorCode.NotFound : ErrorCode.NotReady,
            version < 0 ? $"model '{name}' has no available versions" + (string.IsNullOrEmpty(reason) ? "" : $": {reason}")
                        : $"model '{name}' version {version} is not ready" + (string.IsNullOrEmpty(reason) ? "" : $": {reason}"));
    }

    /// <summary>How a load came about. <see cref="Startup"/>: a start-up load makes the model count for strict readiness
    /// whatever its outcome (any other load only when it succeeds). <see cref="Explicit"/>: the load names the model (not
    /// a composing model loaded for an ensemble), so that unload_dependents leaves it loaded. <see cref="FollowsComposing"/>:
    /// the reload of an ensemble after one of its composing models changed; when it fails, the ensemble stops serving
    /// (its plan no longer matches), where any other failed reload keeps the versions that were serving.</summary>
    private readonly record struct LoadKind(bool Startup, bool Explicit, bool FollowsComposing = false);

    /// <summary>Loads (or reloads) <paramref name="name"/> (see <see cref="LoadKind"/>): a model of the repository, or
    /// with <paramref name="files"/> (checked, with <paramref name="overrideConfig"/> set) a model written from them. The
    /// folder written for the files is the entry's once the load succeeds (the one it replaces is deleted), else deleted
    /// at once.</summary>
    private async Task<InferenceError?> LoadCoreAsync(string name, ModelConfig? overrideConfig, IReadOnlyList<ModelFile>? files, LoadKind kind,
        CancellationToken cancellationToken)
    {
        var entry = await EnterAsync(name, cancellationToken).ConfigureAwait(false);
        WrittenModel? written = null;
        try
        {
            if (files is not null)
            {
                var write = _files.Write(name, overrideConfig!, files);
                if (!write.IsSuccess)
                {
                    ForgetIfUnknown(entry);
                    return write.Error;
                }
                written = write.Value;
            }
            if (kind.Startup)
            {
                entry.Wanted = true;
            }
            var old = entry.Snapshot;
            entry.Snapshot = new ModelServingSnapshot(old.Versions.Values,
                old.Statuses.Count == 0 ? [new VersionStatus(-1, ModelVersionState.Loading, "")] : old.Statuses);
            var result = await _loader.LoadAsync(name, overrideConfig, cancellationToken, written?.Repository).ConfigureAwait(false);
            entry.Fingerprint = result.Fingerprint;
            if (result.Ready.Count == 0 && old.Versions.Count > 0 && !kind.FollowsComposing)
            {
                // A failed reload keeps what was serving (Triton's behaviour); the index says why.
                var reason = result.Error?.Message ?? string.Join("; ", result.Statuses.Select(s => s.Reason));
                entry.Snapshot = new ModelServingSnapshot(old.Versions.Values,
                    old.Statuses.Select(s => s.State == ModelVersionState.Ready ? s with { Reason = "reload failed, previous version still serving: " + reason } : s));
                LogReloadFailed(_logger, name, reason);
                return LoadFailed(result.Error, name, reason);
            }
            entry.Snapshot = new ModelServingSnapshot(result.Ready, result.Statuses);
            TrackComposing(entry, overrideConfig);
            foreach (var v in old.Versions.Values)
            {
                await v.DisposeAsync().ConfigureAwait(false);
            }
            if (result.Ready.Count == 0)
            {
                var reason = result.Error?.Message ?? string.Join("; ", result.Statuses.Select(s => s.Reason));
                if (kind.FollowsComposing)
                {
                    // Stopped like an unload (Triton unloads an ensemble that no longer validates): not counted for readiness.
                    entry.Wanted = false;
                }
                LogLoadFailed(_logger, name, reason);
                // The folder went away during the load, or files of a name the repository does not have failed to
                // load: keep no entry for a name the repository does not have.
                ForgetIfUnknown(entry);
                return LoadFailed(result.Error, name, reason);
            }
            // Nothing serves from the folder of the previous load any more: a load without files returns the model
            // to the repository's own folder.
            ReleaseWritten(entry);
            entry.Written = written;
            written = null;
            entry.Wanted = true;
            entry.Explicit |= kind.Explicit || _options.ModelControlMode != ModelControlMode.Explicit;
            _missingAtStart.TryRemove(name, out _);
            LogLoaded(_logger, name, string.Join(",", result.Ready.Select(v => v.VersionText)));
            return null;
        }
        finally
        {
            if (written is not null)
            {
                _files.Delete(written);
            }
            entry.Gate.Release();
        }
    }

    /// <summary>Drops <paramref name="entry"/> when nothing serves from it and its name is not a model of the
    /// repository; the caller holds its gate.</summary>
    private void ForgetIfUnknown(ModelEntry entry)
    {
        if (entry.Snapshot.Versions.Count == 0 && !Repository.Contains(entry.Name))
        {
            Forget(entry);
        }
    }

    /// <summary>Deletes the folder <paramref name="entry"/> was loaded from, if it was written from files; the caller
    /// holds its gate and nothing serves from that folder any more.</summary>
    private void ReleaseWritten(ModelEntry entry)
    {
        if (entry.Written is { } w)
        {
            entry.Written = null;
            _files.Delete(w);
        }
    }

    /// <summary>A failed load, whatever failed, is Triton's INVALID_ARG ("load failed for model ...").</summary>
    private static InferenceError LoadFailed(InferenceError? error, string name, string reason) =>
        error is null ? new InferenceError(ErrorCode.InvalidArgument, $"failed to load '{name}': {reason}") : error with { Code = ErrorCode.InvalidArgument };

    /// <summary>Unloads every version of <paramref name="entry"/>; <paramref name="forget"/> also drops the entry (its
    /// folder has gone), so that the name is unknown again.</summary>
    private async Task UnloadCoreAsync(ModelEntry entry, string reason, bool forget, CancellationToken cancellationToken)
    {
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Removed)
            {
                return;
            }
            if (forget)
            {
                Forget(entry);
            }
            entry.Wanted = false;
            entry.Explicit = false;
            entry.Linked = false;
            entry.OverrideConfig = null;
            var old = entry.Snapshot;
            entry.Snapshot = new ModelServingSnapshot([], old.Statuses.Select(s => s with { State = ModelVersionState.Unavailable, Reason = reason }));
            entry.Fingerprint = null;
            foreach (var v in old.Versions.Values)
            {
                await v.DisposeAsync().ConfigureAwait(false);
            }
            ReleaseWritten(entry);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>The entry of <paramref name="name"/> (created if needed), with its gate held; never one that was
    /// dropped while this call waited for the gate.</summary>
    private async Task<ModelEntry> EnterAsync(string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _models.GetOrAdd(name, static n => new ModelEntry(n));
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!entry.Removed)
            {
                return entry;
            }
            entry.Gate.Release();
        }
    }

    /// <summary>Drops <paramref name="entry"/> from the dictionary; the caller holds its gate.</summary>
    private void Forget(ModelEntry entry)
    {
        entry.Removed = true;
        _models.TryRemove(KeyValuePair.Create(entry.Name, entry));
    }

    /// <summary>Per-model state. <see cref="Snapshot"/> is replaced whole under <see cref="Gate"/> and read without it.</summary>
    private sealed class ModelEntry(string name)
    {
        public readonly string Name = name;
        public readonly SemaphoreSlim Gate = new(1, 1);
        public volatile ModelServingSnapshot Snapshot = ModelServingSnapshot.Empty;
        public string? Fingerprint;

        /// <summary>The folder the serving versions were loaded from when it was written from a load request's files
        /// (owned: deleted once nothing serves from it); null when they come from the repository. Set under <see cref="Gate"/>.</summary>
        public WrittenModel? Written;

        /// <summary>Meant to be served (named at start, or loaded successfully since; not unloaded since): counts
        /// for strict readiness.</summary>
        public volatile bool Wanted;

        /// <summary>Dropped from the dictionary (set under <see cref="Gate"/>): a load that waited for it starts over.</summary>
        public volatile bool Removed;

        /// <summary>Loaded by a load that named it, or in a control mode other than explicit (Triton's explicitly_load_):
        /// an unload with unload_dependents leaves it loaded. Cleared by an unload.</summary>
        public volatile bool Explicit;

        /// <summary>An ensemble that a load has tried (whatever its outcome) and that no unload has removed since: it follows
        /// its composing models (<see cref="Composing"/>), reloaded when one becomes ready, stopped when one stops.</summary>
        public volatile bool Linked;

        /// <summary>The models the steps of this ensemble run (of the config its last load tried); empty for other models.</summary>
        public volatile IReadOnlyList<string> Composing = [];

        /// <summary>The config override the serving versions were loaded with, which a reload that follows a composing
        /// model keeps; null for the repository's config.</summary>
        public volatile ModelConfig? OverrideConfig;
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
