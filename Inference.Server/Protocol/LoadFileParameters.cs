using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>
/// The <c>file:&lt;path&gt;</c> parameters of a load request (Triton's model files in the load request): over HTTP a
/// string holding the file in base64, over gRPC a <c>bytes_param</c>. The front-ends only decode them into
/// <see cref="ModelFile"/>s; the model manager checks the paths, requires the config and writes the folder
/// (<c>ModelFileStore</c>). Stateless.
/// </summary>
public static class LoadFileParameters
{
    public const string Prefix = "file:";

    public static bool IsFile(string parameterName) => parameterName.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The file a parameter named <paramref name="parameterName"/> (<see cref="IsFile"/>) carries.</summary>
    public static ModelFile ToFile(string parameterName, ReadOnlyMemory<byte> content) => new(parameterName[Prefix.Length..], content);
}
