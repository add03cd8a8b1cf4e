using System.Globalization;
using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// The one place that appends ONNX Runtime execution providers for a device, in Triton's priority order:
/// TensorRT (when configured), then CUDA, then ONNX Runtime's CPU provider for whatever remains. CPU instances use the
/// CPU provider alone (GPU accelerators in the config do not apply to them, as in Triton). A provider that cannot be
/// loaded is an <see cref="ErrorCode.Unsupported"/> error whose message names the missing library.
/// </summary>
public static class OnnxExecutionProviders
{
    /// <summary>
    /// Configures <paramref name="options"/> for <paramref name="device"/>; null on success. For a GPU, the CUDA
    /// provider gets <paramref name="accelerators"/>' options, <c>device_id</c>, and, when <paramref name="computeStream"/>
    /// is not 0, that stream as its compute stream (the instance then orders its own copies on it).
    /// </summary>
    public static InferenceError? Configure(SessionOptions options, OnnxDevice device, OnnxAcceleratorSettings accelerators, nint computeStream = 0)
    {
        switch (device.Kind)
        {
            case OnnxDeviceKind.Cpu:
                return null;
            case OnnxDeviceKind.Gpu:
                var deviceId = device.DeviceId.ToString(CultureInfo.InvariantCulture);
                if (accelerators.TensorRtOptionsOrNull is { } trtOptions)
                {
                    try
                    {
                        using var trt = new OrtTensorRTProviderOptions();
                        var values = new Dictionary<string, string>(trtOptions) { ["device_id"] = deviceId };
                        if (computeStream != 0)
                        {
                            values["has_user_compute_stream"] = "1";
                            values["user_compute_stream"] = ((long)computeStream).ToString(CultureInfo.InvariantCulture);
                        }
                        trt.UpdateOptions(values);
                        options.AppendExecutionProvider_Tensorrt(trt);
                    }
                    catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                    {
                        return new InferenceError(ErrorCode.Unsupported, $"TensorRT execution provider not available: {ex.Message}{GpuProbe.MissingLibrary(GpuProbe.TensorRtProviderLibrary)}");
                    }
                }
                try
                {
                    using var cuda = new OrtCUDAProviderOptions();
                    var values = new Dictionary<string, string>(accelerators.CudaOptions) { ["device_id"] = deviceId };
                    if (computeStream != 0)
                    {
                        values["has_user_compute_stream"] = "1";
                        values["user_compute_stream"] = ((long)computeStream).ToString(CultureInfo.InvariantCulture);
                    }
                    cuda.UpdateOptions(values);
                    options.AppendExecutionProvider_CUDA(cuda);
                    return null;
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    return new InferenceError(ErrorCode.Unsupported, $"CUDA execution provider not available: {ex.Message}{GpuProbe.MissingLibrary(GpuProbe.CudaProviderLibrary)}");
                }
            default:
                return new InferenceError(ErrorCode.InvalidArgument, $"unknown device kind {device.Kind}");
        }
    }
}
