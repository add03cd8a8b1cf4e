using Google.Protobuf;
using Inference.Server.Protos;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol.Grpc;

/// <summary>The SystemSharedMemory* and CudaSharedMemory* RPCs over <see cref="SharedMemoryManager"/>: translation only;
/// failures throw <see cref="Grpc.Core.RpcException"/> with the mapped status.</summary>
internal static class SharedMemoryGrpc
{
    public static SystemSharedMemoryStatusResponse SystemStatus(SharedMemoryManager manager, SystemSharedMemoryStatusRequest request)
    {
        var reply = new SystemSharedMemoryStatusResponse();
        foreach (var region in Unwrap(manager.Status(SharedMemoryKind.System, request.Name)))
        {
            var system = (SystemSharedMemoryRegion)region;
            reply.Regions[region.Name] = new SystemSharedMemoryStatusResponse.Types.RegionStatus
            {
                Name = region.Name, Key = system.Key, Offset = system.Offset, ByteSize = region.ByteSize,
            };
        }
        return reply;
    }

    public static SystemSharedMemoryRegisterResponse SystemRegister(SharedMemoryManager manager, SystemSharedMemoryRegisterRequest request)
    {
        var error = manager.RegisterSystem(request.Name, request.Key, request.Offset, request.ByteSize);
        return error is null ? new SystemSharedMemoryRegisterResponse() : throw ProtocolErrors.ToRpcException(error);
    }

    public static SystemSharedMemoryUnregisterResponse SystemUnregister(SharedMemoryManager manager, SystemSharedMemoryUnregisterRequest request)
    {
        manager.Unregister(SharedMemoryKind.System, request.Name);
        return new SystemSharedMemoryUnregisterResponse();
    }

    public static CudaSharedMemoryStatusResponse CudaStatus(SharedMemoryManager manager, CudaSharedMemoryStatusRequest request)
    {
        var reply = new CudaSharedMemoryStatusResponse();
        foreach (var region in Unwrap(manager.Status(SharedMemoryKind.Cuda, request.Name)))
        {
            reply.Regions[region.Name] = new CudaSharedMemoryStatusResponse.Types.RegionStatus
            {
                Name = region.Name, DeviceId = (ulong)((CudaSharedMemoryRegion)region).DeviceId, ByteSize = region.ByteSize,
            };
        }
        return reply;
    }

    public static CudaSharedMemoryRegisterResponse CudaRegister(SharedMemoryManager manager, CudaSharedMemoryRegisterRequest request)
    {
        var error = manager.RegisterCuda(request.Name, request.RawHandle.Span, request.DeviceId, request.ByteSize);
        return error is null ? new CudaSharedMemoryRegisterResponse() : throw ProtocolErrors.ToRpcException(error);
    }

    public static CudaSharedMemoryUnregisterResponse CudaUnregister(SharedMemoryManager manager, CudaSharedMemoryUnregisterRequest request)
    {
        manager.Unregister(SharedMemoryKind.Cuda, request.Name);
        return new CudaSharedMemoryUnregisterResponse();
    }

    private static T Unwrap<T>(Core.Result<T> result) => result.IsSuccess ? result.Value! : throw ProtocolErrors.ToRpcException(result.Error!);
}
