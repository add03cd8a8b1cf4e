using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// The one place that chooses ONNX Runtime execution providers for a device. CPU uses ONNX Runtime's
/// built-in CPU provider. GPU appends the CUDA provider; when it cannot be loaded (no libcudart/cuDNN, no
/// driver), the instance is refused with an <see cref="ErrorCode.Unsupported"/> error
/// "CUDA execution provider not available: ...". GPU-resident buffers (IOBinding) are not implemented yet:
/// a GPU session reads and writes host memory, which ONNX Runtime copies.
/// </summary>
public static class OnnxExecutionProviders
{
    /// <summary>Configures <paramref name="options"/> for <paramref name="device"/>; null on success.</summary>
    public static InferenceError? Configure(SessionOptions options, OnnxDevice device)
    {
        switch (device.Kind)
        {
            case OnnxDeviceKind.Cpu:
                return null;
            case OnnxDeviceKind.Gpu:
                try
                {
                    options.AppendExecutionProvider_CUDA(device.DeviceId);
                    return null;
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    return new InferenceError(ErrorCode.Unsupported, $"CUDA execution provider not available: {ex.Message}");
                }
            default:
                return new InferenceError(ErrorCode.InvalidArgument, $"unknown device kind {device.Kind}");
        }
    }
}
