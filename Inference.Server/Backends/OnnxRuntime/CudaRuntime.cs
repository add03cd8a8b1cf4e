using System.Runtime.InteropServices;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// The few CUDA runtime calls the GPU hot path needs, bound to <c>libcudart.so.13</c> (the CUDA 13 runtime that
/// ONNX Runtime 1.31's CUDA provider is built against). Where the library is missing, the first call throws
/// <see cref="DllNotFoundException"/> naming it. All calls return CUDA's error code (0 = success); use
/// <see cref="Check"/> to turn a failure into <see cref="CudaException"/>.
/// </summary>
internal static partial class CudaRuntime
{
    public const string LibraryName = "libcudart.so.13";

    public const int MemcpyHostToDevice = 1;
    public const int MemcpyDeviceToHost = 2;
    public const int MemcpyDeviceToDevice = 3;
    public const uint StreamNonBlocking = 1;
    public const uint EventBlockingSync = 1;
    public const uint EventDisableTiming = 2;
    public const uint HostRegisterPortable = 1;

    [LibraryImport(LibraryName, EntryPoint = "cudaGetDeviceCount")]
    public static partial int GetDeviceCount(out int count);

    [LibraryImport(LibraryName, EntryPoint = "cudaSetDevice")]
    public static partial int SetDevice(int device);

    [LibraryImport(LibraryName, EntryPoint = "cudaStreamCreateWithFlags")]
    public static partial int StreamCreateWithFlags(out nint stream, uint flags);

    [LibraryImport(LibraryName, EntryPoint = "cudaStreamDestroy")]
    public static partial int StreamDestroy(nint stream);

    [LibraryImport(LibraryName, EntryPoint = "cudaStreamSynchronize")]
    public static partial int StreamSynchronize(nint stream);

    [LibraryImport(LibraryName, EntryPoint = "cudaMalloc")]
    public static partial int Malloc(out nint pointer, nuint bytes);

    [LibraryImport(LibraryName, EntryPoint = "cudaFree")]
    public static partial int Free(nint pointer);

    [LibraryImport(LibraryName, EntryPoint = "cudaHostAlloc")]
    public static partial int HostAlloc(out nint pointer, nuint bytes, uint flags);

    [LibraryImport(LibraryName, EntryPoint = "cudaFreeHost")]
    public static partial int FreeHost(nint pointer);

    [LibraryImport(LibraryName, EntryPoint = "cudaHostRegister")]
    public static partial int HostRegister(nint pointer, nuint bytes, uint flags);

    [LibraryImport(LibraryName, EntryPoint = "cudaMemcpyAsync")]
    public static partial int MemcpyAsync(nint destination, nint source, nuint bytes, int kind, nint stream);

    [LibraryImport(LibraryName, EntryPoint = "cudaEventCreateWithFlags")]
    public static partial int EventCreateWithFlags(out nint cudaEvent, uint flags);

    [LibraryImport(LibraryName, EntryPoint = "cudaEventRecord")]
    public static partial int EventRecord(nint cudaEvent, nint stream);

    [LibraryImport(LibraryName, EntryPoint = "cudaEventSynchronize")]
    public static partial int EventSynchronize(nint cudaEvent);

    [LibraryImport(LibraryName, EntryPoint = "cudaEventDestroy")]
    public static partial int EventDestroy(nint cudaEvent);

    [LibraryImport(LibraryName, EntryPoint = "cudaGetErrorString")]
    private static partial nint GetErrorString(int error);

    /// <summary>Throws <see cref="CudaException"/> naming <paramref name="call"/> when <paramref name="error"/> is not 0.</summary>
    public static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new CudaException($"{call} failed: {Describe(error)}");
        }
    }

    public static string Describe(int error)
    {
        var text = Marshal.PtrToStringUTF8(GetErrorString(error));
        return $"{text ?? "unknown error"} (cudaError {error})";
    }
}

/// <summary>A CUDA runtime call failed on an instance's hot path (fails the batch) or while it was being created.</summary>
public sealed class CudaException(string message) : InvalidOperationException(message);
