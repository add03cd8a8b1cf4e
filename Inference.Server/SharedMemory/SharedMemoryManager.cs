using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>
/// The server's registered shared memory regions (Triton's SharedMemoryManager): one namespace of names for both kinds,
/// register, status, unregister, and <see cref="Acquire"/> of a bounds-checked window for one request. Unregistering a
/// region that requests are using succeeds at once (the name is free again and new requests cannot find it); the
/// mapping stays until those requests finish. Errors use Triton's wording. Thread-safe.
/// </summary>
public sealed class SharedMemoryManager : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SharedMemoryRegion> _regions = new(StringComparer.Ordinal);

    /// <summary>Maps <paramref name="byteSize"/> bytes of POSIX shared memory object <paramref name="key"/> from
    /// <paramref name="offset"/> as region <paramref name="name"/>.</summary>
    public InferenceError? RegisterSystem(string name, string key, ulong offset, ulong byteSize)
    {
        var invalid = CheckNameAndSize(name, byteSize);
        if (invalid is not null)
        {
            return invalid;
        }
        if (!OperatingSystem.IsLinux())
        {
            return new InferenceError(ErrorCode.Unsupported, "system shared memory is supported on Linux only");
        }
        var path = SystemSharedMemoryKey.ToPath(key);
        if (!path.IsSuccess)
        {
            return path.Error;
        }
        lock (_lock)
        {
            if (_regions.ContainsKey(name))
            {
                return AlreadyRegistered(name);
            }
            var region = SystemSharedMemoryRegion.Map(name, key, path.Value!, offset, byteSize);
            if (!region.IsSuccess)
            {
                return region.Error;
            }
            _regions.Add(name, region.Value!);
            return null;
        }
    }

    /// <summary>Opens <paramref name="rawHandle"/> (a cudaIpcMemHandle_t) on <paramref name="deviceId"/> as region
    /// <paramref name="name"/> of <paramref name="byteSize"/> bytes; UNAVAILABLE without the CUDA runtime or a device.</summary>
    public InferenceError? RegisterCuda(string name, ReadOnlySpan<byte> rawHandle, long deviceId, ulong byteSize)
    {
        var invalid = CheckNameAndSize(name, byteSize);
        if (invalid is not null)
        {
            return invalid;
        }
        if (deviceId is < 0 or > int.MaxValue)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"failed to register shared memory region '{name}': invalid device id {deviceId}");
        }
        lock (_lock)
        {
            if (_regions.ContainsKey(name))
            {
                return AlreadyRegistered(name);
            }
            var region = CudaSharedMemoryRegion.Open(name, rawHandle, (int)deviceId, byteSize);
            if (!region.IsSuccess)
            {
                return region.Error;
            }
            _regions.Add(name, region.Value!);
            return null;
        }
    }

    /// <summary>The regions of <paramref name="kind"/> (all of them for an empty name, else the one named), ordered by name.</summary>
    public Result<IReadOnlyList<SharedMemoryRegion>> Status(SharedMemoryKind kind, string name)
    {
        lock (_lock)
        {
            if (name.Length == 0)
            {
                return _regions.Values.Where(r => r.Kind == kind).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
            }
            if (!_regions.TryGetValue(name, out var region))
            {
                return new InferenceError(ErrorCode.NotFound,
                    $"Unable to find {(kind == SharedMemoryKind.Cuda ? "cuda" : "system")} shared memory region: '{name}'");
            }
            if (region.Kind != kind)
            {
                return new InferenceError(ErrorCode.NotFound, region.Kind == SharedMemoryKind.Cuda
                    ? $"The region named '{name}' is registered as CUDA shared memory, not system shared memory"
                    : $"The region named '{name}' is registered as system shared memory, not CUDA shared memory");
            }
            return new[] { region };
        }
    }

    /// <summary>Unregisters region <paramref name="name"/> of <paramref name="kind"/>, or every region of that kind for an
    /// empty name. A name that is not registered (as that kind) is not an error, as in Triton.</summary>
    public void Unregister(SharedMemoryKind kind, string name)
    {
        List<SharedMemoryRegion> released = [];
        lock (_lock)
        {
            foreach (var region in _regions.Values)
            {
                if (region.Kind == kind && (name.Length == 0 || region.Name == name))
                {
                    released.Add(region);
                }
            }
            foreach (var region in released)
            {
                _regions.Remove(region.Name);
            }
        }
        foreach (var region in released)
        {
            region.Release();
        }
    }

    /// <summary>A window of <paramref name="byteSize"/> bytes at <paramref name="offset"/> in region <paramref name="name"/>,
    /// checked against the region; the caller disposes it when the request is done with it.</summary>
    public Result<SharedMemoryWindow> Acquire(string name, ulong offset, ulong byteSize)
    {
        SharedMemoryRegion? region;
        lock (_lock)
        {
            if (!_regions.TryGetValue(name, out region) || !region.TryAddReference())
            {
                return new InferenceError(ErrorCode.NotFound, $"Unable to find shared memory region: '{name}'");
            }
        }
        InferenceError? error = null;
        if (offset >= region.ByteSize)
        {
            error = new InferenceError(ErrorCode.InvalidArgument,
                $"Invalid offset for shared memory region: '{name}' (offset {offset}, region of {region.ByteSize} bytes)");
        }
        else if (byteSize > region.ByteSize - offset)
        {
            error = new InferenceError(ErrorCode.InvalidArgument,
                $"Invalid offset + byte size for shared memory region: '{name}' (offset {offset} + byte size {byteSize} exceeds the region's {region.ByteSize} bytes)");
        }
        else if (byteSize > int.MaxValue)
        {
            error = new InferenceError(ErrorCode.InvalidArgument,
                $"shared memory byte size {byteSize} for region '{name}' exceeds the largest tensor of {int.MaxValue} bytes");
        }
        if (error is not null)
        {
            region.Release();
            return error;
        }
        return new SharedMemoryWindow(region, offset, (int)byteSize);
    }

    /// <summary>Unregisters every region (at shutdown).</summary>
    public void Dispose()
    {
        Unregister(SharedMemoryKind.System, "");
        Unregister(SharedMemoryKind.Cuda, "");
    }

    private static InferenceError? CheckNameAndSize(string name, ulong byteSize)
    {
        if (name.Length == 0)
        {
            return new InferenceError(ErrorCode.InvalidArgument, "failed to register shared memory region: the region name must not be empty");
        }
        return byteSize == 0
            ? new InferenceError(ErrorCode.InvalidArgument, $"failed to register shared memory region '{name}': byte_size must be positive")
            : null;
    }

    private static InferenceError AlreadyRegistered(string name) =>
        new(ErrorCode.AlreadyExists, $"shared memory region '{name}' already in manager");
}
