using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>Device memory of another process, opened from its cudaIpcMemHandle_t on <see cref="DeviceId"/>; closed
/// when the last reference goes.</summary>
public sealed class CudaSharedMemoryRegion : SharedMemoryRegion
{
    private CudaSharedMemoryRegion(string name, ulong byteSize, int deviceId, nint address)
        : base(name, byteSize)
    {
        DeviceId = deviceId;
        Address = address;
    }

    public int DeviceId { get; }

    public override SharedMemoryKind Kind => SharedMemoryKind.Cuda;

    public override nint Address { get; }

    internal static Result<SharedMemoryRegion> Open(string name, ReadOnlySpan<byte> rawHandle, int deviceId, ulong byteSize)
    {
        var unavailable = CudaIpc.Availability(deviceId);
        if (unavailable is not null)
        {
            return unavailable;
        }
        if (rawHandle.Length != CudaIpc.HandleSize)
        {
            return new InferenceError(ErrorCode.InvalidArgument,
                $"failed to register shared memory region '{name}': the raw handle holds {rawHandle.Length} bytes, a cudaIpcMemHandle_t {CudaIpc.HandleSize}");
        }
        var opened = CudaIpc.Open(rawHandle, deviceId);
        return opened.IsSuccess ? new CudaSharedMemoryRegion(name, byteSize, deviceId, opened.Value) : opened.Error!;
    }

    protected override void Free() => CudaIpc.Close(Address);
}
