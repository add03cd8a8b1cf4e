using System.Buffers;

namespace Inference.Server.SharedMemory;

/// <summary>
/// The bytes [<see cref="Offset"/>, <see cref="Offset"/> + <see cref="Length"/>) of a registered region, as one request
/// uses them for an input or an output. Holds a reference to the region until disposed (idempotent), so the mapping
/// outlives an unregister issued meanwhile. For a system region <see cref="Memory"/> reads and writes the mapping itself
/// (no copy); a CUDA region's window has only <see cref="Address"/>, a device pointer.
/// </summary>
public sealed unsafe class SharedMemoryWindow : MemoryManager<byte>
{
    private SharedMemoryRegion? _region;

    internal SharedMemoryWindow(SharedMemoryRegion region, ulong offset, int length)
    {
        _region = region;
        RegionName = region.Name;
        Kind = region.Kind;
        Offset = offset;
        Length = length;
        Address = region.Address + (nint)offset;
    }

    public string RegionName { get; }

    public SharedMemoryKind Kind { get; }

    /// <summary>The offset into the region (the request's <c>shared_memory_offset</c>).</summary>
    public ulong Offset { get; }

    public int Length { get; }

    /// <summary>The first byte: a host address (system) or a device address (CUDA).</summary>
    public nint Address { get; }

    /// <summary>The CUDA device of a CUDA region's window.</summary>
    public int DeviceId => _region is CudaSharedMemoryRegion cuda ? cuda.DeviceId : 0;

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_region is null, this);
        if (Kind != SharedMemoryKind.System)
        {
            throw new InvalidOperationException($"shared memory region '{RegionName}' is device memory; it has no host span");
        }
        return new Span<byte>((void*)Address, Length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_region is null, this);
        return new MemoryHandle((byte*)Address + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing) => Interlocked.Exchange(ref _region, null)?.Release();
}
