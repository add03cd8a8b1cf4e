using Inference.Server.Core;

namespace Inference.Server.Repository;

/// <summary>The outcome of loading one model: the versions now serving, every version's status, and a
/// model-level error (bad config, no versions) when nothing could be tried.</summary>
public sealed record ModelLoadResult(
    IReadOnlyList<LoadedModelVersion> Ready,
    IReadOnlyList<VersionStatus> Statuses,
    InferenceError? Error,
    string? Fingerprint)
{
    public static ModelLoadResult Failed(InferenceError error, string? fingerprint) =>
        new([], [new VersionStatus(-1, ModelVersionState.Unavailable, error.Message)], error, fingerprint);
}
