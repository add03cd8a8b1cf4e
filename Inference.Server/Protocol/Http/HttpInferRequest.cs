using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// A parsed HTTP infer request: the internal request plus how each output goes back on the wire.
/// Owns <see cref="Request"/> until <see cref="TakeRequest"/> hands it on.
/// </summary>
public sealed class HttpInferRequest : IDisposable
{
    private readonly HashSet<string>? _binaryOutputs;
    private InferenceRequest? _request;

    public HttpInferRequest(InferenceRequest request, bool allOutputsBinary, HashSet<string>? binaryOutputs)
    {
        _request = request;
        AllOutputsBinary = allOutputsBinary;
        _binaryOutputs = binaryOutputs;
    }

    public InferenceRequest Request => _request ?? throw new InvalidOperationException("The request was handed on.");

    /// <summary>The outputs that go into shared memory (null when none); disposed with this request.</summary>
    public SharedMemoryOutputs? SharedMemoryOutputs { get; init; }

    /// <summary>The request parameter <c>binary_data_output</c>.</summary>
    public bool AllOutputsBinary { get; }

    /// <summary>True when output <paramref name="name"/> goes back as binary data (never one written to shared memory).</summary>
    public bool IsBinaryOutput(string name) =>
        (AllOutputsBinary || (_binaryOutputs?.Contains(name) ?? false)) && SharedMemoryOutputs?.For(name) is null;

    /// <summary>Hands ownership of the request to the caller (the server, which disposes it).</summary>
    public InferenceRequest TakeRequest()
    {
        var r = Request;
        _request = null;
        return r;
    }

    public void Dispose()
    {
        _request?.Dispose();
        _request = null;
        SharedMemoryOutputs?.Dispose();
    }
}
