using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Inference.Server.Core;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Triton's pinned memory pool (<c>--pinned-memory-pool-byte-size</c>) for received tensors: buffers carved from slabs
/// on the pinned object heap that are page-locked for the GPU (<c>cudaHostRegister</c>) once, so a GPU instance copies
/// each request straight to the device (<see cref="Contains"/>) instead of gathering the batch into its staging buffer
/// first. Until <see cref="Activate"/> (the first GPU instance on the hot path), for buffers under
/// <see cref="MinLength"/> (cheap to gather), and once <see cref="CapacityBytes"/> is used up, it hands out ordinary
/// <see cref="PooledBuffer"/>s, which the instance gathers as before. At the capacity, a slab whose blocks are all free
/// is carved again for the size that needs one, so traffic that moves from one request size to another is not stuck
/// with the first size's slabs.
/// <para>Size classes are 2^k and 1.5 * 2^k (64 KB, 96 KB, 128 KB, 192 KB, ... 16 MB): a 150 KB image takes a 192 KB
/// block. Slabs (16 MB) are never freed (registration is for the process's life). Thread-safe.</para>
/// </summary>
public sealed class PageLockedBufferPool : ITensorBufferPool
{
    public const int MinLength = 64 * 1024;
    private const long SlabBytes = 16L * 1024 * 1024;

    private readonly Lock _grow = new();
    private readonly ConcurrentDictionary<int, ConcurrentStack<Block>> _free = new();
    private Func<nint, long, bool>? _register;
    private Slab[] _slabs = [];
    private long _reserved;

    private long _capacity;

    /// <param name="capacityBytes">Most page-locked bytes to hold (Triton's default: 256 MB); 0 disables the pool.</param>
    public PageLockedBufferPool(long capacityBytes) => CapacityBytes = capacityBytes;

    /// <summary>The process's pool (page-locked memory belongs to the process); the host sets its capacity at start.</summary>
    public static PageLockedBufferPool Shared { get; } = new(256L * 1024 * 1024);

    /// <summary>Most page-locked bytes the pool holds; lowering it keeps the slabs already made.</summary>
    public long CapacityBytes
    {
        get => Interlocked.Read(ref _capacity);
        set => Interlocked.Exchange(ref _capacity, Math.Max(value, 0));
    }

    public bool IsActive => Volatile.Read(ref _register) is not null;

    /// <summary>Page-locked bytes held in slabs so far.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reserved);

    /// <summary>Starts handing out page-locked buffers; <paramref name="register"/> page-locks a slab (address, bytes)
    /// and says whether it worked. Idempotent: the first registration function stays.</summary>
    public void Activate(Func<nint, long, bool> register) => Interlocked.CompareExchange(ref _register, register, null);

    /// <summary>Activates with <c>cudaHostRegister</c> (portable: usable from every device's context).</summary>
    internal void ActivateForCuda() => Activate(static (address, bytes) =>
        CudaRuntime.HostRegister(address, (nuint)bytes, CudaRuntime.HostRegisterPortable) == 0);

    public IMemoryOwner<byte> Rent(int length)
    {
        if (length < MinLength || !IsActive)
        {
            return PooledBuffer.Rent(length);
        }
        var size = SizeClass(length);
        if (size < 0)
        {
            return PooledBuffer.Rent(length);
        }
        var free = _free.GetOrAdd(size, static _ => new ConcurrentStack<Block>());
        if (TryTake(free, out var block) || TryGrow(size, free, out block))
        {
            return new Buffer(this, block, length);
        }
        return PooledBuffer.Rent(length);
    }

    /// <summary>Whether [<paramref name="address"/>, +<paramref name="length"/>) lies in one page-locked slab.</summary>
    public bool Contains(nint address, long length)
    {
        var slabs = Volatile.Read(ref _slabs);
        foreach (var slab in slabs)
        {
            if (address >= slab.Address && address + (nint)length <= slab.Address + (nint)slab.Bytes)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether all of <paramref name="memory"/> is page-locked here.</summary>
    public unsafe bool Contains(ReadOnlyMemory<byte> memory)
    {
        if (memory.IsEmpty || Volatile.Read(ref _slabs).Length == 0)
        {
            return false;
        }
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(memory.Span));
        return Contains(address, memory.Length);
    }

    /// <summary>The block size for <paramref name="length"/>: the smallest of 2^k and 1.5 * 2^k (from 64 KB) that holds
    /// it; -1 when that is larger than a slab (16 MB).</summary>
    internal static int SizeClass(int length)
    {
        for (long size = MinLength; size <= SlabBytes; size *= 2)
        {
            if (size >= length)
            {
                return (int)size;
            }
            if (size + size / 2 >= length)
            {
                return size + size / 2 <= SlabBytes ? (int)(size + size / 2) : -1;
            }
        }
        return -1;
    }

    /// <summary>Pops a block that is still valid: blocks of a slab that was re-carved since are dropped.</summary>
    private static bool TryTake(ConcurrentStack<Block> free, out Block block)
    {
        while (free.TryPop(out block))
        {
            var slab = block.Slab;
            int count;
            do
            {
                count = Volatile.Read(ref slab.Free);
                if (count <= 0)
                {
                    break; // being re-carved (-1): the block is stale
                }
            }
            while (Interlocked.CompareExchange(ref slab.Free, count - 1, count) != count);
            if (count <= 0)
            {
                continue;
            }
            if (block.Generation == Volatile.Read(ref slab.Generation))
            {
                return true;
            }
            // Re-carved between the pop and the count: the count belongs to the new blocks.
            Interlocked.Increment(ref slab.Free);
        }
        return false;
    }

    /// <summary>
    /// Makes blocks of <paramref name="size"/>: a new slab while the capacity allows, else an idle slab of another size
    /// (every block free) carved again. Returns one block and pushes the rest.
    /// </summary>
    private bool TryGrow(int size, ConcurrentStack<Block> free, out Block block)
    {
        lock (_grow)
        {
            if (TryTake(free, out block))
            {
                return true;
            }
            if (_register is not { } register)
            {
                return false;
            }
            Slab? slab = null;
            var bytes = SlabBytes / size * size;
            if (_reserved + bytes <= CapacityBytes)
            {
                var array = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
                var address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
                if (!register(address, bytes))
                {
                    // Not page-locked (the driver refused): serve from ordinary memory from now on.
                    Volatile.Write(ref _register, null);
                    return false;
                }
                slab = new Slab(array, address, bytes);
                Volatile.Write(ref _slabs, [.. _slabs, slab]);
                Interlocked.Add(ref _reserved, bytes);
            }
            else
            {
                foreach (var idle in _slabs)
                {
                    // Retire only a slab whose blocks are all in its free stack (-1 stops takers); they go stale.
                    if (idle.Size != size && idle.Bytes >= size
                        && Interlocked.CompareExchange(ref idle.Free, -1, idle.BlockCount) == idle.BlockCount)
                    {
                        Interlocked.Increment(ref idle.Generation);
                        slab = idle;
                        break;
                    }
                }
                if (slab is null)
                {
                    return false;
                }
            }
            slab.Size = size;
            slab.BlockCount = (int)(slab.Bytes / size);
            var generation = Volatile.Read(ref slab.Generation);
            Volatile.Write(ref slab.Free, slab.BlockCount - 1);
            for (var offset = size; offset + size <= slab.BlockCount * (long)size; offset += size)
            {
                free.Push(new Block(slab, offset, size, generation));
            }
            block = new Block(slab, 0, size, generation);
            return true;
        }
    }

    private void Return(Block block)
    {
        Interlocked.Increment(ref block.Slab.Free);
        _free[block.Size].Push(block);
    }

    private readonly record struct Block(Slab Slab, int Offset, int Size, int Generation);

    /// <summary>A registered slab: carved into <see cref="BlockCount"/> blocks of <see cref="Size"/>; <see cref="Free"/>
    /// counts those in the free stack (-1 while it is carved again), <see cref="Generation"/> tells current blocks
    /// from those of an earlier carving.</summary>
    private sealed class Slab(byte[] array, nint address, long bytes)
    {
        public byte[] Array { get; } = array;
        public nint Address { get; } = address;
        public long Bytes { get; } = bytes;
        public int Size;
        public int BlockCount;
        public int Free;
        public int Generation;
    }

    private sealed class Buffer(PageLockedBufferPool pool, Block block, int length) : IMemoryOwner<byte>
    {
        private int _disposed;

        public Memory<byte> Memory => Volatile.Read(ref _disposed) == 0
            ? block.Slab.Array.AsMemory(block.Offset, length)
            : throw new ObjectDisposedException(nameof(PageLockedBufferPool));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                pool.Return(block);
            }
        }
    }
}
