using System.Buffers;
using Inference.Server.Protos;

namespace Inference.Server.Protocol.Grpc;

/// <summary>
/// A ModelInferRequest as it arrives on the server: every field but <c>raw_input_contents</c> in
/// <see cref="Message"/>, and each raw input in its own buffer from the server's
/// <see cref="Core.ITensorBufferPool"/> (copied once out of the HTTP/2 stream; Google.Protobuf would allocate a new
/// array per input, on the large object heap for any image).
/// <see cref="TakeRaw"/> hands a buffer's ownership to a tensor; <see cref="Dispose"/> returns the ones not taken.
/// </summary>
public sealed class PooledInferRequest(ModelInferRequest message, List<IMemoryOwner<byte>> raw) : IDisposable
{
    private readonly List<IMemoryOwner<byte>?> _raw = [.. raw];

    /// <summary>The request without <c>raw_input_contents</c> (always empty here).</summary>
    public ModelInferRequest Message { get; } = message;

    public int RawCount => _raw.Count;

    /// <summary>The bytes of raw input <paramref name="index"/> (still owned here).</summary>
    public ReadOnlyMemory<byte> Raw(int index) =>
        (_raw[index] ?? throw new InvalidOperationException($"raw input {index} was already taken")).Memory;

    /// <summary>Raw input <paramref name="index"/>; the caller owns it from now on.</summary>
    public IMemoryOwner<byte> TakeRaw(int index)
    {
        var buffer = _raw[index] ?? throw new InvalidOperationException($"raw input {index} was already taken");
        _raw[index] = null;
        return buffer;
    }

    public void Dispose()
    {
        for (var i = 0; i < _raw.Count; i++)
        {
            _raw[i]?.Dispose();
            _raw[i] = null;
        }
    }
}
