namespace Inference.Server.Core;

/// <summary>One file of a load request (Triton's <c>file:&lt;path&gt;</c> parameter): <see cref="Path"/> is the
/// text after the prefix, relative to the model folder with '/' separators (for example <c>1/model.onnx</c>), as the
/// caller sent it and not yet checked; <see cref="Content"/> the decoded bytes, owned by the request.</summary>
public sealed record ModelFile(string Path, ReadOnlyMemory<byte> Content);
