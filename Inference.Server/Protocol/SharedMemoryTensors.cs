using Inference.Server.Core;
using Inference.Server.SharedMemory;

namespace Inference.Server.Protocol;

/// <summary>Where a tensor of one request lies in shared memory: Triton's <c>shared_memory_region</c>,
/// <c>shared_memory_offset</c> (default 0) and <c>shared_memory_byte_size</c> parameters.</summary>
public sealed record SharedMemoryReference(string Region, ulong Offset, ulong ByteSize);

/// <summary>
/// Inputs read from registered shared memory. A system region's input is the mapping itself (its window is the
/// tensor's owner, so the region stays mapped until the request is done; no copy). A CUDA region's input is
/// <see cref="DeviceBackedMemory"/>: a GPU instance on its device copies it device-to-device into the batch; anything
/// else gets it copied device-to-host once into a buffer of the server's <see cref="ITensorBufferPool"/>.
/// </summary>
public static class SharedMemoryTensors
{
    public const string RegionParameter = "shared_memory_region";
    public const string OffsetParameter = "shared_memory_offset";
    public const string ByteSizeParameter = "shared_memory_byte_size";

    public static Result<InferTensor> Input(
        SharedMemoryManager? manager, ITensorBufferPool pool, string name, DataType type, long[] shape, long elementCount, SharedMemoryReference where)
    {
        if (manager is null)
        {
            return new InferenceError(ErrorCode.Unsupported, "shared memory is not enabled on this server");
        }
        var acquired = manager.Acquire(where.Region, where.Offset, where.ByteSize);
        if (!acquired.IsSuccess)
        {
            return acquired.Error!;
        }
        var window = acquired.Value!;
        if (window.Kind == SharedMemoryKind.System)
        {
            var error = TensorWireChecks.CheckRawSize(name, type, elementCount, window.Memory.Span);
            if (error is not null)
            {
                ((IDisposable)window).Dispose();
                return error;
            }
            return new InferTensor(name, type, shape, window.Memory, window);
        }
        if (type != DataType.Bytes)
        {
            var expected = elementCount * type.ElementSize();
            if (expected != window.Length)
            {
                ((IDisposable)window).Dispose();
                return ProtocolErrors.Invalid(
                    $"input '{name}': {window.Length} bytes of data do not match {elementCount} elements of {type.ToWireName()} ({expected} bytes)");
            }
        }
        var device = new DeviceBackedMemory(window, pool);
        if (type == DataType.Bytes)
        {
            var error = TensorWireChecks.CheckRawSize(name, type, elementCount, device.Memory.Span);
            if (error is not null)
            {
                ((IDisposable)device).Dispose();
                return error;
            }
        }
        return new InferTensor(name, type, shape, device.Memory, device);
    }
}
