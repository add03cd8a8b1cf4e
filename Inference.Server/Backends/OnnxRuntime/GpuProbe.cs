using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Whether this process can run ONNX Runtime instances on a GPU: the CUDA execution provider loads (its library
/// and the CUDA, cuBLAS and cuDNN libraries it links), <c>libcudart.so.13</c> loads and the device exists; and,
/// when asked, the TensorRT provider loads (it needs <c>libnvinfer</c>). Each answer names what is missing. The
/// library checks run once per process and are cached; thread-safe.
/// </summary>
public static partial class GpuProbe
{
    private static readonly Lazy<string?> CudaProviderError = new(ProbeCudaProvider);
    private static readonly Lazy<string?> TensorRtProviderError = new(ProbeTensorRtProvider);
    private static readonly Lazy<(int Count, string? Error)> Devices = new(ProbeDevices);

    /// <summary>Null when an instance can be placed on GPU <paramref name="deviceId"/> (with TensorRT when
    /// <paramref name="tensorRt"/>); otherwise an <see cref="ErrorCode.Unsupported"/> error saying why.</summary>
    public static InferenceError? Check(int deviceId, bool tensorRt)
    {
        if (CudaProviderError.Value is { } cuda)
        {
            return new InferenceError(ErrorCode.Unsupported, $"CUDA execution provider not available: {cuda}");
        }
        var (count, devicesError) = Devices.Value;
        if (devicesError is not null)
        {
            return new InferenceError(ErrorCode.Unsupported, devicesError);
        }
        if (deviceId < 0 || deviceId >= count)
        {
            return new InferenceError(ErrorCode.Unsupported, $"GPU {deviceId} does not exist ({count} CUDA device(s) visible)");
        }
        if (tensorRt && TensorRtProviderError.Value is { } trt)
        {
            return new InferenceError(ErrorCode.Unsupported, $"TensorRT execution provider not available: {trt}");
        }
        return null;
    }

    /// <summary>True when GPU 0 can take a CUDA instance (Triton's "a GPU is available" for auto-complete).</summary>
    public static bool Available => Check(0, tensorRt: false) is null;

    private static string? ProbeCudaProvider()
    {
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);
            return null;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            return ex.Message + MissingLibrary(CudaProviderLibrary);
        }
    }

    private static string? ProbeTensorRtProvider()
    {
        try
        {
            using var options = new SessionOptions();
            using var trt = new OrtTensorRTProviderOptions();
            options.AppendExecutionProvider_Tensorrt(trt);
            return null;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            return ex.Message + MissingLibrary(TensorRtProviderLibrary);
        }
    }

    internal const string CudaProviderLibrary = "libonnxruntime_providers_cuda.so";
    internal const string TensorRtProviderLibrary = "libonnxruntime_providers_tensorrt.so";

    /// <summary>
    /// ONNX Runtime says only "Failed to load shared library": load the provider library ourselves (where .NET finds
    /// ONNX Runtime's native files) so that the loader names the dependency it could not open.
    /// </summary>
    internal static string MissingLibrary(string providerLibrary)
    {
        try
        {
            var handle = NativeLibrary.Load(providerLibrary, typeof(InferenceSession).Assembly, DllImportSearchPath.AssemblyDirectory);
            NativeLibrary.Free(handle);
            return $" ({providerLibrary} itself loads)";
        }
        catch (DllNotFoundException ex)
        {
            var missing = MissingDependency().Matches(ex.Message).Select(m => m.Groups[1].Value)
                .Where(name => !name.Contains("onnxruntime_providers", StringComparison.Ordinal)).Distinct().ToArray();
            return missing.Length > 0
                ? $"; missing library: {string.Join(", ", missing)} (needed by {providerLibrary})"
                : $"; {providerLibrary} could not be loaded: {ex.Message}";
        }
    }

    [GeneratedRegex(@"(lib[\w.+-]+?\.so[\w.]*): cannot open shared object file")]
    private static partial Regex MissingDependency();

    private static (int, string?) ProbeDevices()
    {
        try
        {
            var rc = CudaRuntime.GetDeviceCount(out var count);
            return rc == 0 ? (count, null) : (0, $"no usable CUDA device: cudaGetDeviceCount: {CudaRuntime.Describe(rc)}");
        }
        catch (DllNotFoundException ex)
        {
            return (0, $"{CudaRuntime.LibraryName} (the CUDA 13 runtime) could not be loaded: {ex.Message}");
        }
    }
}
