using System.Collections.Frozen;

namespace Inference.Server.Repository;

/// <summary>A version's lifecycle state as the repository index reports it.</summary>
public enum ModelVersionState
{
    Unknown,
    Loading,
    Ready,
    Unavailable,
    Unloading,
}

/// <summary>What the repository index shows for one version (ready or not, and why).</summary>
public sealed record VersionStatus(long Version, ModelVersionState State, string Reason);

/// <summary>
/// A model's serving snapshot: replaced whole on load, reload and unload (copy-on-write), so the
/// inference path reads it without locks. <see cref="Latest"/> is the highest ready version.
/// </summary>
public sealed class ModelServingSnapshot
{
    public static readonly ModelServingSnapshot Empty = new([], []);

    public ModelServingSnapshot(IEnumerable<LoadedModelVersion> ready, IEnumerable<VersionStatus> statuses)
    {
        Versions = ready.ToFrozenDictionary(v => v.Version);
        Latest = Versions.Count == 0 ? null : Versions.Values.MaxBy(v => v.Version);
        Statuses = [.. statuses.OrderBy(s => s.Version)];
    }

    public FrozenDictionary<long, LoadedModelVersion> Versions { get; }

    public LoadedModelVersion? Latest { get; }

    /// <summary>Every version the last load attempt considered, with its state and reason.</summary>
    public IReadOnlyList<VersionStatus> Statuses { get; }
}
