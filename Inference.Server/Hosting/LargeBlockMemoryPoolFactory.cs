using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace Inference.Server.Hosting;

/// <summary>Makes Kestrel's pools <see cref="LargeBlockMemoryPool"/>s (one per transport, as it asks).</summary>
public sealed class LargeBlockMemoryPoolFactory(int blockBytes, int maxPooledBlocks) : IMemoryPoolFactory<byte>
{
    private int _created;

    public int BlockBytes => blockBytes;

    /// <summary>How many pools were made so far.</summary>
    public int PoolsCreated => Volatile.Read(ref _created);

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        Interlocked.Increment(ref _created);
        return new LargeBlockMemoryPool(blockBytes, maxPooledBlocks);
    }
}
