using System.Runtime.InteropServices;
using System.Text;

namespace Inference.Server.Telemetry;

/// <summary>
/// The few NVML calls the GPU metrics need, bound at run time from <c>libnvidia-ml.so.1</c> (the driver's
/// library) through function pointers, so a machine without the driver costs no exception. NVML is
/// thread-safe; one instance holds one <c>nvmlInit_v2</c> reference until <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class Nvml : IDisposable
{
    /// <summary>The driver's NVML library name on Linux.</summary>
    public const string DefaultLibrary = "libnvidia-ml.so.1";

    private const int Success = 0;
    private const int UuidBufferSize = 96; // NVML_DEVICE_UUID_V2_BUFFER_SIZE

    private readonly nint _library;
    private readonly delegate* unmanaged<int> _shutdown;
    private readonly delegate* unmanaged<uint*, int> _getCount;
    private readonly delegate* unmanaged<uint, nint*, int> _getHandleByIndex;
    private readonly delegate* unmanaged<nint, byte*, uint, int> _getUuid;
    private readonly delegate* unmanaged<nint, NvmlUtilization*, int> _getUtilization;
    private readonly delegate* unmanaged<nint, NvmlMemory*, int> _getMemory;
    private readonly delegate* unmanaged<nint, uint*, int> _getPowerUsage;
    private readonly delegate* unmanaged<nint, uint*, int> _getPowerLimit;
    private readonly delegate* unmanaged<nint, ulong*, int> _getEnergy;
    private int _disposed;

    private Nvml(nint library, nint[] f)
    {
        _library = library;
        _shutdown = (delegate* unmanaged<int>)f[1];
        _getCount = (delegate* unmanaged<uint*, int>)f[2];
        _getHandleByIndex = (delegate* unmanaged<uint, nint*, int>)f[3];
        _getUuid = (delegate* unmanaged<nint, byte*, uint, int>)f[4];
        _getUtilization = (delegate* unmanaged<nint, NvmlUtilization*, int>)f[5];
        _getMemory = (delegate* unmanaged<nint, NvmlMemory*, int>)f[6];
        _getPowerUsage = (delegate* unmanaged<nint, uint*, int>)f[7];
        _getPowerLimit = (delegate* unmanaged<nint, uint*, int>)f[8];
        _getEnergy = (delegate* unmanaged<nint, ulong*, int>)f[9];
    }

    private static readonly string[] Exports =
    [
        "nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetUUID",
        "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetTotalEnergyConsumption",
    ];

    /// <summary>Loads the library and initializes NVML; null when the library, an export or the driver is missing.</summary>
    public static Nvml? TryOpen(string library = DefaultLibrary)
    {
        if (!NativeLibrary.TryLoad(library, out var handle))
        {
            return null;
        }
        var f = new nint[Exports.Length];
        for (var i = 0; i < Exports.Length; i++)
        {
            if (!NativeLibrary.TryGetExport(handle, Exports[i], out f[i]))
            {
                NativeLibrary.Free(handle);
                return null;
            }
        }
        if (((delegate* unmanaged<int>)f[0])() != Success)
        {
            NativeLibrary.Free(handle);
            return null;
        }
        return new Nvml(handle, f);
    }

    /// <summary>The devices NVML sees, with their UUIDs; devices whose handle or UUID cannot be read are left out.</summary>
    public IReadOnlyList<NvmlDevice> Devices()
    {
        uint count;
        if (_getCount(&count) != Success)
        {
            return [];
        }
        var devices = new List<NvmlDevice>((int)count);
        var uuid = stackalloc byte[UuidBufferSize];
        for (uint i = 0; i < count; i++)
        {
            nint device;
            if (_getHandleByIndex(i, &device) != Success || _getUuid(device, uuid, UuidBufferSize) != Success)
            {
                continue;
            }
            devices.Add(new NvmlDevice(device, Encoding.ASCII.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(uuid))));
        }
        return devices;
    }

    /// <summary>GPU utilization over the driver's last sample period, 0..1.</summary>
    public double? Utilization(NvmlDevice d)
    {
        NvmlUtilization u;
        return _getUtilization(d.Handle, &u) == Success ? u.Gpu / 100.0 : null;
    }

    /// <summary>Total and used device memory in bytes.</summary>
    public (ulong Total, ulong Used)? MemoryInfo(NvmlDevice d)
    {
        NvmlMemory m;
        return _getMemory(d.Handle, &m) == Success ? (m.Total, m.Used) : null;
    }

    /// <summary>Power draw in watts.</summary>
    public double? PowerUsageWatts(NvmlDevice d)
    {
        uint mw;
        return _getPowerUsage(d.Handle, &mw) == Success ? mw / 1000.0 : null;
    }

    /// <summary>Enforced power limit in watts.</summary>
    public double? PowerLimitWatts(NvmlDevice d)
    {
        uint mw;
        return _getPowerLimit(d.Handle, &mw) == Success ? mw / 1000.0 : null;
    }

    /// <summary>Energy consumed since the driver was last reloaded, in millijoules.</summary>
    public ulong? TotalEnergyMillijoules(NvmlDevice d)
    {
        ulong mj;
        return _getEnergy(d.Handle, &mj) == Success ? mj : null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _shutdown();
            NativeLibrary.Free(_library);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlUtilization
    {
        public uint Gpu;
        public uint Memory;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct NvmlMemory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}

/// <summary>An NVML device handle (valid while its <see cref="Nvml"/> is open) and its UUID.</summary>
internal readonly record struct NvmlDevice(nint Handle, string Uuid);
