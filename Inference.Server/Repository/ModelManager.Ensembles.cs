using Inference.Server.Core;
using Microsoft.Extensions.Logging;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// How ensembles follow their composing models, as Triton's dependency graph makes them: loading an ensemble loads
/// its composing models first (explicit mode); a model that stops serving (unloaded, removed from the repository,
/// or an ensemble that stopped) stops every ensemble whose steps run it, with the reason; a model that becomes
/// ready (loaded or reloaded) reloads every ensemble that a load has tried and whose composing models are all
/// ready, so that its plan is linked against their new configs; and an unload with <c>unload_dependents</c> also
/// unloads the composing models that no other ensemble needs and that no load named (Triton's explicitly_load_).
/// Each step takes the gate of the model it changes; none is held while another model's gate is awaited.
/// </summary>
public sealed partial class ModelManager
{
    /// <summary>Loads the composing models of an ensemble that are not ready yet, then the model itself. A config
    /// override of an ensemble is checked on its own (and for cycles) first, so that a bad one loads nothing.</summary>
    private async Task<InferenceError?> LoadWithComposingModelsAsync(string name, ModelConfig? overrideConfig, CancellationToken cancellationToken)
    {
        if (overrideConfig is not null && EnsembleConfigValidator.IsEnsemble(overrideConfig)
            && EnsembleLoader.Check(name, overrideConfig, $"config override of '{name}'", _loader.ConfigOf) is { } invalid)
        {
            LogLoadFailed(_logger, name, invalid.Message);
            return invalid with { Code = ErrorCode.InvalidArgument };
        }
        foreach (var dependency in EnsembleLoadOrder.Order(Repository, [name], overrideConfig))
        {
            if (dependency != name && !IsModelReady(dependency))
            {
                await LoadAndFollowAsync(dependency, null, new LoadKind(Startup: false, Explicit: false), cancellationToken, except: name).ConfigureAwait(false);
            }
        }
        return await LoadAndFollowAsync(name, overrideConfig, new LoadKind(Startup: false, Explicit: true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads <paramref name="name"/>, then makes the ensembles that run it follow: reloaded when it serves,
    /// stopped when it does not. <paramref name="except"/> is left alone (its own load comes next); <paramref name="files"/>
    /// as <c>LoadCoreAsync</c>'s.</summary>
    private async Task<InferenceError?> LoadAndFollowAsync(string name, ModelConfig? overrideConfig, LoadKind kind, CancellationToken cancellationToken,
        string? except = null, IReadOnlyList<ModelFile>? files = null)
    {
        var error = await LoadCoreAsync(name, overrideConfig, files, kind, cancellationToken).ConfigureAwait(false);
        await FollowAsync(name, except, cancellationToken).ConfigureAwait(false);
        return error;
    }

    /// <summary>The ensembles whose steps run <paramref name="name"/> follow its state: reloaded if it serves and all
    /// their composing models are ready, stopped if it does not serve.</summary>
    private async Task FollowAsync(string name, string? except, CancellationToken cancellationToken)
    {
        if (!IsModelReady(name))
        {
            await SuspendDependentsAsync(name, cancellationToken).ConfigureAwait(false);
            return;
        }
        foreach (var dependent in Dependents(name))
        {
            if (dependent.Name != except && dependent.Composing.All(m => IsModelReady(m)))
            {
                LogFollowing(_logger, dependent.Name, name);
                await LoadAndFollowAsync(dependent.Name, dependent.OverrideConfig,
                    new LoadKind(Startup: false, Explicit: false, FollowsComposing: true), cancellationToken, except).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops every serving ensemble whose steps run <paramref name="name"/>, which no longer serves, and then
    /// the ensembles that run those. They stay linked: they load again once their composing models are back.</summary>
    private async Task SuspendDependentsAsync(string name, CancellationToken cancellationToken)
    {
        var why = _models.TryGetValue(name, out var composing) ? composing.Snapshot.Statuses.FirstOrDefault()?.Reason : null;
        foreach (var dependent in Dependents(name))
        {
            var reason = $"ensemble '{dependent.Name}' depends on '{name}' which has no loaded version" + (string.IsNullOrEmpty(why) ? "" : $" ({why})");
            if (await SuspendAsync(dependent, reason, cancellationToken).ConfigureAwait(false))
            {
                LogSuspended(_logger, dependent.Name, reason);
                await SuspendDependentsAsync(dependent.Name, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes every version of <paramref name="entry"/> out of service with <paramref name="reason"/>; keeps what
    /// makes it load again (linked, composing models, config override, fingerprint). False when it was not serving.</summary>
    private async Task<bool> SuspendAsync(ModelEntry entry, string reason, CancellationToken cancellationToken)
    {
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var old = entry.Snapshot;
            if (entry.Removed || old.Versions.Count == 0)
            {
                return false;
            }
            entry.Wanted = false;
            entry.Snapshot = new ModelServingSnapshot([], old.Statuses.Select(s => s with { State = ModelVersionState.Unavailable, Reason = reason }));
            foreach (var v in old.Versions.Values)
            {
                await v.DisposeAsync().ConfigureAwait(false);
            }
            return true;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>unload_dependents: unloads each of <paramref name="composing"/> that serves, that no load named, and that
    /// no other linked ensemble runs; then, in turn, the composing models of those that are ensembles.</summary>
    private async Task UnloadUnneededAsync(IReadOnlyList<string> composing, CancellationToken cancellationToken)
    {
        foreach (var name in composing)
        {
            if (!_models.TryGetValue(name, out var entry) || entry.Explicit || entry.Snapshot.Versions.Count == 0 || Dependents(name).Any())
            {
                continue;
            }
            var next = entry.Composing;
            await UnloadCoreAsync(entry, "unloaded", forget: !Repository.Contains(name), cancellationToken).ConfigureAwait(false);
            LogUnloadedDependent(_logger, name);
            await UnloadUnneededAsync(next, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The linked ensembles (other than itself) whose steps run <paramref name="name"/>.</summary>
    private List<ModelEntry> Dependents(string name) =>
        [.. _models.Values.Where(e => e.Linked && e.Name != name && e.Composing.Contains(name, StringComparer.Ordinal)).OrderBy(e => e.Name, StringComparer.Ordinal)];

    /// <summary>Records which models the steps of the config just loaded into <paramref name="entry"/> run, and the
    /// override it came from; an ensemble is linked from then on. The caller holds the entry's gate.</summary>
    private void TrackComposing(ModelEntry entry, ModelConfig? overrideConfig)
    {
        var config = overrideConfig ?? EnsembleLoadOrder.DiskConfig(Repository, entry.Name);
        entry.Composing = EnsembleLoadOrder.StepModels(config);
        entry.Linked = entry.Composing.Count > 0;
        entry.OverrideConfig = overrideConfig;
    }

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Ensemble {Model} stopped serving: {Reason}")]
    private static partial void LogSuspended(ILogger logger, string model, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Ensemble {Model} reloads: its composing model {Composing} is ready")]
    private static partial void LogFollowing(ILogger logger, string model, string composing);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Composing model {Model} unloaded with its ensemble (unload_dependents)")]
    private static partial void LogUnloadedDependent(ILogger logger, string model);
}
