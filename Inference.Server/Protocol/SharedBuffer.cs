using System.Buffers;
using Inference.Server.Core;

namespace Inference.Server.Protocol;

/// <summary>
/// A pooled buffer shared by several tensors (the inputs sliced out of one HTTP body), returned to
/// the pool when the creator's reference and every lease are released. Thread-safe.
/// </summary>
public sealed class SharedBuffer : IDisposable
{
    private readonly IMemoryOwner<byte> _buffer;
    private int _references = 1;

    public SharedBuffer(IMemoryOwner<byte> buffer) => _buffer = buffer;

    public ReadOnlyMemory<byte> Memory => _buffer.Memory;

    public int Length => _buffer.Memory.Length;

    /// <summary>A new reference; the caller disposes it (for example as an <see cref="InferTensor.Owner"/>).</summary>
    public IDisposable Lease()
    {
        Interlocked.Increment(ref _references);
        return new LeaseHandle(this);
    }

    /// <summary>Releases the creator's reference (idempotence is the caller's duty: call once).</summary>
    public void Dispose() => Release();

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _buffer.Dispose();
        }
    }

    private sealed class LeaseHandle(SharedBuffer owner) : IDisposable
    {
        private SharedBuffer? _owner = owner;

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release();
    }
}
