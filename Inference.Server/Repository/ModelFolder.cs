using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>One numeric version folder of a model. <see cref="Error"/> non-null means the version cannot be
/// loaded (e.g. no model file) and says why; <see cref="ModelFilePath"/> is then null.</summary>
public sealed record ModelVersionFolder(long Version, string Path, string? ModelFilePath, string? Error)
{
    public bool IsValid => Error is null;
}

/// <summary>A model's folder as found on disk: its config (null when there is no config.pbtxt and no
/// override) and every numeric version folder, ascending. Immutable snapshot; the config is not completed.
/// <see cref="ConfigSource"/> names the config in messages: its file relative to the repository
/// (<c>m/config.pbtxt</c>), or <c>config override of 'm'</c>.</summary>
public sealed record ModelFolder(
    string Name,
    string Path,
    ModelConfig? Config,
    string ConfigPath,
    string ConfigSource,
    IReadOnlyList<ModelVersionFolder> Versions);
