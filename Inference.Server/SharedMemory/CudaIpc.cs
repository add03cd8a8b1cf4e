using System.Runtime.InteropServices;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>
/// The CUDA runtime calls of CUDA shared memory (cudaIpcOpenMemHandle, cudaIpcCloseMemHandle, cudaMemcpy), bound to
/// <see cref="CudaRuntime.LibraryName"/> and loaded on first use. <see cref="Availability"/> says, once per process,
/// whether the library loads and a device exists; where not, every CUDA shared memory call answers UNAVAILABLE with
/// that reason.
/// </summary>
internal static unsafe partial class CudaIpc
{
    /// <summary>sizeof(cudaIpcMemHandle_t).</summary>
    public const int HandleSize = 64;

    public const int MemcpyHostToDevice = 1;
    public const int MemcpyDeviceToHost = 2;

    private const uint LazyEnablePeerAccess = 1;

    private static readonly Lazy<(int Devices, string? Error)> Probe = new(ProbeDevices);

    [StructLayout(LayoutKind.Sequential)]
    public struct Handle
    {
        public fixed byte Reserved[HandleSize];
    }

    [LibraryImport(CudaRuntime.LibraryName, EntryPoint = "cudaIpcOpenMemHandle")]
    private static partial int OpenMemHandle(out nint pointer, Handle handle, uint flags);

    [LibraryImport(CudaRuntime.LibraryName, EntryPoint = "cudaIpcCloseMemHandle")]
    private static partial int CloseMemHandle(nint pointer);

    [LibraryImport(CudaRuntime.LibraryName, EntryPoint = "cudaMemcpy")]
    private static partial int Memcpy(nint destination, nint source, nuint bytes, int kind);

    /// <summary>The exporting side (a client; the shared memory bench): the IPC handle of device memory from cudaMalloc.</summary>
    [LibraryImport(CudaRuntime.LibraryName, EntryPoint = "cudaIpcGetMemHandle")]
    public static partial int GetMemHandle(out Handle handle, nint pointer);

    /// <summary>Null when CUDA shared memory can work in this process; else an UNAVAILABLE error saying why.</summary>
    public static InferenceError? Availability(int deviceId)
    {
        var (devices, error) = Probe.Value;
        if (error is not null)
        {
            return new InferenceError(ErrorCode.Unavailable, $"CUDA shared memory is unavailable: {error}");
        }
        return deviceId >= 0 && deviceId < devices
            ? null
            : new InferenceError(ErrorCode.InvalidArgument, $"CUDA device {deviceId} does not exist ({devices} CUDA device(s) visible)");
    }

    /// <summary>Opens <paramref name="raw"/> (a cudaIpcMemHandle_t) on <paramref name="deviceId"/>.</summary>
    public static Result<nint> Open(ReadOnlySpan<byte> raw, int deviceId)
    {
        var handle = default(Handle);
        raw.CopyTo(new Span<byte>(handle.Reserved, HandleSize));
        var error = CudaRuntime.SetDevice(deviceId);
        if (error == 0)
        {
            error = OpenMemHandle(out var pointer, handle, LazyEnablePeerAccess);
            if (error == 0)
            {
                return pointer;
            }
        }
        return new InferenceError(ErrorCode.InvalidArgument,
            $"failed to register shared memory region: invalid args (cudaIpcOpenMemHandle: {CudaRuntime.Describe(error)})");
    }

    public static void Close(nint pointer) => CloseMemHandle(pointer);

    /// <summary>A synchronous copy on <paramref name="deviceId"/>; null on success.</summary>
    public static InferenceError? Copy(int deviceId, nint destination, nint source, int bytes, int kind)
    {
        var error = CudaRuntime.SetDevice(deviceId);
        if (error == 0)
        {
            error = Memcpy(destination, source, (nuint)bytes, kind);
        }
        return error == 0 ? null : new InferenceError(ErrorCode.Internal, $"cudaMemcpy failed: {CudaRuntime.Describe(error)}");
    }

    /// <summary>Copies host bytes to device memory.</summary>
    public static InferenceError? CopyToDevice(int deviceId, nint destination, ReadOnlySpan<byte> source)
    {
        fixed (byte* p = source)
        {
            return Copy(deviceId, destination, (nint)p, source.Length, MemcpyHostToDevice);
        }
    }

    /// <summary>Copies device memory to host bytes.</summary>
    public static InferenceError? CopyToHost(int deviceId, Span<byte> destination, nint source)
    {
        fixed (byte* p = destination)
        {
            return Copy(deviceId, (nint)p, source, destination.Length, MemcpyDeviceToHost);
        }
    }

    /// <summary>The 64 bytes of a handle, as the protocol sends them.</summary>
    public static byte[] Bytes(in Handle handle)
    {
        fixed (byte* p = handle.Reserved)
        {
            return new ReadOnlySpan<byte>(p, HandleSize).ToArray();
        }
    }

    private static (int, string?) ProbeDevices()
    {
        try
        {
            var error = CudaRuntime.GetDeviceCount(out var count);
            if (error != 0)
            {
                return (0, $"no CUDA device ({CudaRuntime.Describe(error)})");
            }
            return count > 0 ? (count, null) : (0, "no CUDA device is visible");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (0, $"the CUDA runtime ({CudaRuntime.LibraryName}) could not be loaded");
        }
    }
}
