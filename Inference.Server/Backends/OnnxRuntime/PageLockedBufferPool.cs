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
/// <see cref="PooledBuffer"/>s, which the instance gathers as before.
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
        if (free.TryPop(out var block) || TryGrow(size, free, out block))
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

    private bool TryGrow(int size, ConcurrentStack<Block> free, out Block block)
    {
        lock (_grow)
        {
            if (free.TryPop(out block))
            {
                return true;
            }
            var bytes = SlabBytes / size * size;
            if (_reserved + bytes > CapacityBytes || _register is not { } register)
            {
                return false;
            }
            var array = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
            var address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
            if (!register(address, bytes))
            {
                // Not page-locked (the driver refused): serve from ordinary memory from now on.
                Volatile.Write(ref _register, null);
                return false;
            }
            Volatile.Write(ref _slabs, [.. _slabs, new Slab(array, address, bytes)]);
            Interlocked.Add(ref _reserved, bytes);
            for (var offset = size; offset + size <= bytes; offset += size)
            {
                free.Push(new Block(array, offset, size));
            }
            block = new Block(array, 0, size);
            return true;
        }
    }

    private void Return(Block block) => _free[block.Size].Push(block);

    private readonly record struct Block(byte[] Slab, int Offset, int Size);

    private sealed record Slab(byte[] Array, nint Address, long Bytes);

    private sealed class Buffer(PageLockedBufferPool pool, Block block, int length) : IMemoryOwner<byte>
    {
        private int _disposed;

        public Memory<byte> Memory => Volatile.Read(ref _disposed) == 0
            ? block.Slab.AsMemory(block.Offset, length)
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
