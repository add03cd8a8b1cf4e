using Inference.Server.Core;
using Inference.Server.Repository;

namespace Inference.Server.Protocol;

/// <summary>
/// The <c>file:&lt;path&gt;</c> parameters of a load request (Triton's model files in the load request), checked as
/// Triton checks them before anything is written: the model name must be valid, a config override must come with
/// them, and every path must stay inside the model folder (relative, no empty, <c>.</c> or <c>..</c> segment, no
/// backslash or NUL). Those errors are <see cref="ErrorCode.InvalidArgument"/>; files that pass every check are
/// refused as <see cref="ErrorCode.Unsupported"/>, because this server does not yet write model files from a load
/// request. Thread-safe.
/// </summary>
public static class LoadFileParameters
{
    public const string Prefix = "file:";

    public static bool IsFile(string parameterName) => parameterName.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Null when <paramref name="fileParameters"/> is empty; otherwise why the load is refused.</summary>
    public static InferenceError? Check(string model, IReadOnlyList<string> fileParameters, bool hasConfig)
    {
        if (fileParameters.Count == 0)
        {
            return null;
        }
        if (ModelRepository.CheckModelName(model) is { } invalid)
        {
            return invalid with { Message = $"failed to load: {invalid.Message}" };
        }
        foreach (var name in fileParameters)
        {
            if (PathError(name[Prefix.Length..]) is { } why)
            {
                return new InferenceError(ErrorCode.InvalidArgument, $"failed to load '{model}': file parameter '{name}': {why}");
            }
        }
        if (!hasConfig)
        {
            return new InferenceError(ErrorCode.InvalidArgument,
                $"failed to load '{model}': a 'config' parameter with the model config is required when model files are given");
        }
        return new InferenceError(ErrorCode.Unsupported,
            $"failed to load '{model}': model files in the load request ('{Prefix}' parameters) are not supported by this server");
    }

    private static string? PathError(string path)
    {
        if (path.Length == 0)
        {
            return "the path is empty";
        }
        if (path.Contains('\\') || path.Contains('\0'))
        {
            return "the path must use '/' and hold no NUL";
        }
        if (path.StartsWith('/'))
        {
            return "the path must be relative to the model folder";
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return "the path must stay inside the model folder (no empty, '.' or '..' segment)";
            }
        }
        return null;
    }
}
