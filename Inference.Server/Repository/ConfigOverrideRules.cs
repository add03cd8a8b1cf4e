using System.Collections.Frozen;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// What a config override (the <c>config</c> parameter of the repository load API, which any caller can send) may
/// not set, beyond the file-name rules of every config (<see cref="ConfigFileNames"/>): the TensorRT accelerator
/// parameters that name host paths, which ONNX Runtime takes as they are, not relative to the model —
/// <c>trt_engine_cache_path</c>, <c>trt_timing_cache_path</c>, <c>trt_ep_context_file_path</c> and
/// <c>int8_calibration_table_name</c> (files read and written anywhere) and <c>trt_extra_plugin_lib_paths</c> (shared
/// libraries loaded into the server). They belong in the model's config file on disk, which the operator writes.
/// Stateless.
/// </summary>
public static class ConfigOverrideRules
{
    private static readonly FrozenSet<string> HostPathParameters = new[]
    {
        "trt_engine_cache_path", "trt_timing_cache_path", "trt_ep_context_file_path", "int8_calibration_table_name",
        "trt_extra_plugin_lib_paths",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Null when the override <paramref name="config"/> of model <paramref name="model"/> sets none of the
    /// parameters above; else an <see cref="ErrorCode.InvalidArgument"/> error naming the first.</summary>
    public static InferenceError? Check(ModelConfig config, string model)
    {
        var accelerators = config.Optimization?.ExecutionAccelerators?.GpuExecutionAccelerator;
        for (var i = 0; i < (accelerators?.Count ?? 0); i++)
        {
            var key = accelerators![i].Parameters.Keys.Where(HostPathParameters.Contains).Order(StringComparer.Ordinal).FirstOrDefault();
            if (key is not null)
            {
                return ConfigErrors.Invalid($"config override of '{model}'", $"optimization.execution_accelerators.gpu_execution_accelerator[{i}].parameters[\"{key}\"]",
                    "names a host path; set it in the model's config file, not in a config override");
            }
        }
        return null;
    }
}
