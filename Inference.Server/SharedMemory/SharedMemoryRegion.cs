namespace Inference.Server.SharedMemory;

/// <summary>
/// A registered region. Reference-counted: the registry holds one reference from registration to unregistration and
/// every window handed to a request holds one more, so a region unregistered while requests use it stays mapped until
/// the last of them finishes (Triton's behaviour), and is then unmapped exactly once. Thread-safe.
/// </summary>
public abstract class SharedMemoryRegion
{
    private int _references = 1;

    protected SharedMemoryRegion(string name, ulong byteSize)
    {
        Name = name;
        ByteSize = byteSize;
    }

    public string Name { get; }

    public ulong ByteSize { get; }

    public abstract SharedMemoryKind Kind { get; }

    /// <summary>The address of byte 0 of the region (host memory for system regions, device memory for CUDA ones).</summary>
    public abstract nint Address { get; }

    /// <summary>Takes a reference; false when the region is already released.</summary>
    internal bool TryAddReference()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Drops a reference; the last one frees the region.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Free();
        }
    }

    /// <summary>True while someone (the registry or a request) holds the region.</summary>
    public bool IsMapped => Volatile.Read(ref _references) > 0;

    /// <summary>Unmaps or closes the region; called once, by the last <see cref="Release"/>.</summary>
    protected abstract void Free();
}
