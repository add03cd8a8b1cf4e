using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Inference.Server.Hosting;

/// <summary>
/// The memory Kestrel's connections read into, in blocks of <see cref="BlockBytes"/> instead of ASP.NET Core's 4 KB:
/// a socket read fills at most one block, so a 150 KB image arrives in 3 reads where it took 37, and the pipe holds
/// it in 3 segments. Blocks are pinned arrays, reused; at most <see cref="MaxPooledBlocks"/> idle ones are kept (the
/// rest are left to the GC). Kestrel waits for data before it takes a block (zero-byte reads), so an idle connection
/// holds none. Registered as the server's <see cref="IMemoryPoolFactory{T}"/>, which Kestrel asks for its pools.
/// </summary>
public sealed class LargeBlockMemoryPool(int blockBytes, int maxPooledBlocks) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _idle = new();
    private int _idleCount;

    public int BlockBytes { get; } = blockBytes > 0 ? blockBytes : throw new ArgumentOutOfRangeException(nameof(blockBytes));

    public int MaxPooledBlocks { get; } = maxPooledBlocks >= 0 ? maxPooledBlocks : throw new ArgumentOutOfRangeException(nameof(maxPooledBlocks));

    /// <summary>Idle blocks kept now.</summary>
    public int IdleBlocks => Volatile.Read(ref _idleCount);

    public override int MaxBufferSize => BlockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), $"{minBufferSize} bytes exceed the pool's blocks of {BlockBytes}");
        }
        if (_idle.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _idleCount);
            block.Rented = 1;
            return block;
        }
        return new Block(this, GC.AllocateUninitializedArray<byte>(BlockBytes, pinned: true)) { Rented = 1 };
    }

    protected override void Dispose(bool disposing)
    {
        while (_idle.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _idleCount);
        }
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _idleCount) <= MaxPooledBlocks)
        {
            _idle.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _idleCount);
        }
    }

    private sealed class Block(LargeBlockMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        public int Rented;

        public Memory<byte> Memory { get; } = array;

        /// <summary>Back to the pool once: a second dispose of the same rental does nothing.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref Rented, 0) == 1)
            {
                pool.Return(this);
            }
        }
    }
}
