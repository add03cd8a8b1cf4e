namespace Inference.Server.Core;

/// <summary>The outputs of one request. Owns its tensors; the front-end disposes it after writing them out.</summary>
public sealed class InferenceResponse : IDisposable
{
    public required string ModelName { get; init; }

    public required long ModelVersion { get; init; }

    public string Id { get; init; } = "";

    public List<InferTensor> Outputs { get; } = [];

    public void Dispose()
    {
        foreach (var t in Outputs)
        {
            t.Dispose();
        }
    }
}
