using Inference.Server.Core;

namespace Inference.Server.Repository;

/// <summary>Builds config validation errors in one format: <c>file: field.path: message</c>.</summary>
internal static class ConfigErrors
{
    public static InferenceError Invalid(string file, string field, string message) =>
        new(ErrorCode.InvalidArgument, $"{file}: {field}: {message}");

    public static InferenceError Unsupported(string file, string field, string message) =>
        new(ErrorCode.Unsupported, $"{file}: {field}: {message}");
}
