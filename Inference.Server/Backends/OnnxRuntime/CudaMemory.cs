namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>A non-blocking CUDA stream on one device, owned by one model instance; destroyed on dispose.</summary>
internal sealed class CudaStream : IDisposable
{
    private CudaStream(nint handle, int deviceId)
    {
        Handle = handle;
        DeviceId = deviceId;
    }

    public nint Handle { get; private set; }

    public int DeviceId { get; }

    public static CudaStream Create(int deviceId)
    {
        CudaRuntime.Check(CudaRuntime.SetDevice(deviceId), $"cudaSetDevice({deviceId})");
        CudaRuntime.Check(CudaRuntime.StreamCreateWithFlags(out var handle, CudaRuntime.StreamNonBlocking), "cudaStreamCreateWithFlags");
        return new CudaStream(handle, deviceId);
    }

    private nint _blockingEvent;

    /// <summary>Blocks until all work queued on the stream is done (spinning, under CUDA's default schedule).</summary>
    public void Synchronize() => CudaRuntime.Check(CudaRuntime.StreamSynchronize(Handle), "cudaStreamSynchronize");

    /// <summary>Blocks until all work queued on the stream is done, sleeping: records an event made with
    /// <c>cudaEventBlockingSync</c> (created on first use) and waits for it.</summary>
    public void SynchronizeBlocking()
    {
        if (_blockingEvent == 0)
        {
            CudaRuntime.Check(CudaRuntime.EventCreateWithFlags(out _blockingEvent, CudaRuntime.EventBlockingSync | CudaRuntime.EventDisableTiming),
                "cudaEventCreateWithFlags");
        }
        CudaRuntime.Check(CudaRuntime.EventRecord(_blockingEvent, Handle), "cudaEventRecord");
        CudaRuntime.Check(CudaRuntime.EventSynchronize(_blockingEvent), "cudaEventSynchronize");
    }

    public void Dispose()
    {
        if (_blockingEvent != 0)
        {
            CudaRuntime.EventDestroy(_blockingEvent);
            _blockingEvent = 0;
        }
        if (Handle != 0)
        {
            CudaRuntime.StreamDestroy(Handle);
            Handle = 0;
        }
    }
}

/// <summary>Device memory from <c>cudaMalloc</c> (current device), freed on dispose. Allocated once per instance.</summary>
internal sealed class DeviceBuffer : IDisposable
{
    public DeviceBuffer(long bytes)
    {
        Bytes = Math.Max(bytes, 1);
        CudaRuntime.Check(CudaRuntime.Malloc(out var pointer, (nuint)Bytes), $"cudaMalloc({Bytes})");
        Pointer = pointer;
    }

    public nint Pointer { get; private set; }

    public long Bytes { get; }

    public void Dispose()
    {
        if (Pointer != 0)
        {
            CudaRuntime.Free(Pointer);
            Pointer = 0;
        }
    }
}

/// <summary>Page-locked host memory from <c>cudaHostAlloc</c>, so copies to and from the device are DMA and
/// asynchronous. Allocated once per instance; freed on dispose. Single-threaded, like its instance.</summary>
internal sealed unsafe class PinnedHostBuffer : IDisposable
{
    public PinnedHostBuffer(long bytes)
    {
        Bytes = Math.Max(bytes, 1);
        CudaRuntime.Check(CudaRuntime.HostAlloc(out var pointer, (nuint)Bytes, 0), $"cudaHostAlloc({Bytes})");
        Pointer = pointer;
    }

    public nint Pointer { get; private set; }

    public long Bytes { get; }

    /// <summary>The first <paramref name="length"/> bytes.</summary>
    public Span<byte> Span(long length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Bytes);
        return new Span<byte>((void*)Pointer, checked((int)length));
    }

    public void Dispose()
    {
        if (Pointer != 0)
        {
            CudaRuntime.FreeHost(Pointer);
            Pointer = 0;
        }
    }
}
