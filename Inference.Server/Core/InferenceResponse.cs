namespace Inference.Server.Core;

/// <summary>The outputs of one request. Owns its tensors; the front-end disposes it after writing them out.</summary>
public sealed class InferenceResponse : IDisposable
{
    public required string ModelName { get; init; }

    public required long ModelVersion { get; init; }

    public string Id { get; init; } = "";

    public List<InferTensor> Outputs { get; } = [];

    /// <summary>The durations of the execution that produced this response (zero for a response that ran no model, such
    /// as a cache hit): an ensemble adds up its steps' into its own statistics.</summary>
    public Scheduling.ExecutionTimings Timings { get; set; }

    public void Dispose()
    {
        foreach (var t in Outputs)
        {
            t.Dispose();
        }
    }
}
