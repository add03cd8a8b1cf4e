using System.Buffers;
using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>
/// An input tensor's bytes that live in a CUDA shared memory window. A GPU instance on the same device copies them
/// device-to-device into its batch (<see cref="DevicePointer"/>, found with
/// <see cref="System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager{T, TManager}(ReadOnlyMemory{T}, out TManager)"/>)
/// and never touches host memory; anything else that reads the bytes (a CPU instance, the host gather, BYTES checks)
/// gets them copied device-to-host once, on first access, into a buffer of the server's pool. Owns the window (and so a
/// reference to the region) and that buffer until disposed (idempotent). Thread-safe.
/// </summary>
public sealed class DeviceBackedMemory : MemoryManager<byte>
{
    private readonly Lock _lock = new();
    private readonly ITensorBufferPool _pool;
    private SharedMemoryWindow? _window;
    private IMemoryOwner<byte>? _host;

    public DeviceBackedMemory(SharedMemoryWindow window, ITensorBufferPool pool)
    {
        _window = window;
        _pool = pool;
        DevicePointer = window.Address;
        DeviceId = window.DeviceId;
        Length = window.Length;
    }

    public nint DevicePointer { get; }

    public int DeviceId { get; }

    public int Length { get; }

    public override Memory<byte> Memory => CreateMemory(Length);

    public override Span<byte> GetSpan() => Host().Memory.Span;

    public override MemoryHandle Pin(int elementIndex = 0) => Host().Memory[elementIndex..].Pin();

    public override void Unpin()
    {
    }

    private unsafe IMemoryOwner<byte> Host()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_window is null, this);
            if (_host is null)
            {
                var host = _pool.Rent(Length);
                using (var pin = host.Memory.Pin())
                {
                    var error = CudaIpc.Copy(DeviceId, (nint)pin.Pointer, DevicePointer, Length, CudaIpc.MemcpyDeviceToHost);
                    if (error is not null)
                    {
                        host.Dispose();
                        throw new InvalidOperationException($"CUDA shared memory region '{_window.RegionName}': {error.Message}");
                    }
                }
                _host = host;
            }
            return _host;
        }
    }

    protected override void Dispose(bool disposing)
    {
        lock (_lock)
        {
            _host?.Dispose();
            _host = null;
            ((IDisposable?)_window)?.Dispose();
            _window = null;
        }
    }
}
