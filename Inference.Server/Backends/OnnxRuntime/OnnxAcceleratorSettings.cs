using System.Collections.Frozen;
using Inference.Server.Core;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>How a GPU instance moves a batch between host and device (model parameter <c>gpu_io_copy</c>).</summary>
public enum GpuSync
{
    /// <summary>Default: <c>cudaStreamSynchronize</c>, which spins a core while the GPU runs (CUDA's default schedule).</summary>
    Spin,

    /// <summary>An event created with <c>cudaEventBlockingSync</c>: the instance's thread sleeps until the GPU is done.</summary>
    Blocking,
}

public enum GpuIoCopy
{
    /// <summary>Default: one <c>cudaMemcpyAsync</c> in and one out per batch on the instance's CUDA stream, which
    /// ONNX Runtime also computes on; pinned host staging buffers; device buffers bound once per batch size.</summary>
    Stream,

    /// <summary>Pinned host buffers are bound as the session's inputs and outputs and ONNX Runtime copies them
    /// (no CUDA graphs in this mode). Kept to measure against <see cref="Stream"/>.</summary>
    Ort,
}

/// <summary>
/// The execution-provider part of an ONNX Runtime model config, read with the vocabulary of Triton's onnxruntime
/// backend. Option names and values are checked here, on any machine, so that a typo is a load error naming it
/// rather than a silent default:
/// <list type="bullet">
/// <item><c>optimization.execution_accelerators.gpu_execution_accelerator</c>: <c>tensorrt</c> (Triton's keys:
/// <c>precision_mode</c> FP32/FP16/INT8, <c>max_workspace_size_bytes</c>, <c>trt_engine_cache_enable</c>,
/// <c>trt_engine_cache_path</c>, ... mapped to ONNX Runtime's <c>trt_*</c> options) and <c>cuda</c> (ONNX Runtime's
/// CUDA provider options by their own names, e.g. <c>cudnn_conv_algo_search</c>, <c>prefer_nhwc</c>,
/// <c>fuse_conv_bias</c>, <c>enable_cuda_graph</c>).</item>
/// <item>Triton's older model <c>parameters</c> for the CUDA provider: <c>cudnn_conv_algo_search</c> (0/1/2),
/// <c>gpu_mem_limit</c>, <c>arena_extend_strategy</c> (0/1), <c>do_copy_in_default_stream</c>; and ours:
/// <c>gpu_io_copy</c> (<c>stream</c> or <c>ort</c>, see <see cref="GpuIoCopy"/>) and <c>gpu_sync</c> (<c>spin</c> or
/// <c>blocking</c>, see <see cref="GpuSync"/>).</item>
/// <item><c>optimization.cuda.graphs: true</c> enables CUDA graphs like <c>enable_cuda_graph: 1</c>;
/// <c>optimization.cuda.graph_spec { batch_size: N }</c> lists the batch sizes to capture.</item>
/// <item><c>cpu_execution_accelerator</c>: Triton knows only <c>openvino</c>, which this build lacks (an error).</item>
/// </list>
/// Immutable; <see cref="None"/> when the config asks for nothing.
/// </summary>
public sealed class OnnxAcceleratorSettings
{
    public const string GpuIoCopyKey = "gpu_io_copy";
    public const string GpuSyncKey = "gpu_sync";

    private static readonly FrozenSet<string> CudaBoolOptions = new[]
    {
        "cudnn_conv_use_max_workspace", "cudnn_conv1d_pad_to_nc1d", "enable_cuda_graph", "prefer_nhwc", "fuse_conv_bias",
        "do_copy_in_default_stream", "use_ep_level_unified_stream", "tunable_op_enable", "tunable_op_tuning_enable",
        "enable_skip_layer_norm_strict_mode", "use_tf32",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> CudaIntOptions = new[]
    {
        "gpu_mem_limit", "tunable_op_max_tuning_duration_ms", "sdpa_kernel",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Options the server sets itself: a config that names them is refused.</summary>
    private static readonly FrozenSet<string> CudaReservedOptions = new[]
    {
        "device_id", "has_user_compute_stream", "user_compute_stream", "gpu_external_alloc", "gpu_external_free",
        "gpu_external_empty_cache",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Triton key -> (ONNX Runtime TensorRT option, kind). precision_mode is handled on its own.</summary>
    private static readonly FrozenDictionary<string, (string OrtName, OptionKind Kind)> TensorRtOptions =
        new Dictionary<string, (string, OptionKind)>
        {
            ["max_workspace_size_bytes"] = ("trt_max_workspace_size", OptionKind.Int),
            ["trt_max_partition_iterations"] = ("trt_max_partition_iterations", OptionKind.Int),
            ["trt_min_subgraph_size"] = ("trt_min_subgraph_size", OptionKind.Int),
            ["int8_calibration_table_name"] = ("trt_int8_calibration_table_name", OptionKind.Text),
            ["int8_use_native_calibration_table"] = ("trt_int8_use_native_calibration_table", OptionKind.Bool),
            ["trt_dla_enable"] = ("trt_dla_enable", OptionKind.Bool),
            ["trt_dla_core"] = ("trt_dla_core", OptionKind.Int),
            ["trt_engine_cache_enable"] = ("trt_engine_cache_enable", OptionKind.Bool),
            ["trt_engine_cache_path"] = ("trt_engine_cache_path", OptionKind.Text),
            ["trt_engine_cache_prefix"] = ("trt_engine_cache_prefix", OptionKind.Text),
            ["trt_dump_subgraphs"] = ("trt_dump_subgraphs", OptionKind.Bool),
            ["trt_force_sequential_engine_build"] = ("trt_force_sequential_engine_build", OptionKind.Bool),
            ["trt_context_memory_sharing_enable"] = ("trt_context_memory_sharing_enable", OptionKind.Bool),
            ["trt_layer_norm_fp32_fallback"] = ("trt_layer_norm_fp32_fallback", OptionKind.Bool),
            ["trt_timing_cache_enable"] = ("trt_timing_cache_enable", OptionKind.Bool),
            ["trt_timing_cache_path"] = ("trt_timing_cache_path", OptionKind.Text),
            ["trt_force_timing_cache"] = ("trt_force_timing_cache", OptionKind.Bool),
            ["trt_detailed_build_log"] = ("trt_detailed_build_log", OptionKind.Bool),
            ["trt_build_heuristics_enable"] = ("trt_build_heuristics_enable", OptionKind.Bool),
            ["trt_sparsity_enable"] = ("trt_sparsity_enable", OptionKind.Bool),
            ["trt_builder_optimization_level"] = ("trt_builder_optimization_level", OptionKind.Int),
            ["trt_auxiliary_streams"] = ("trt_auxiliary_streams", OptionKind.SignedInt),
            ["trt_tactic_sources"] = ("trt_tactic_sources", OptionKind.Text),
            ["trt_extra_plugin_lib_paths"] = ("trt_extra_plugin_lib_paths", OptionKind.Text),
            ["trt_profile_min_shapes"] = ("trt_profile_min_shapes", OptionKind.Text),
            ["trt_profile_max_shapes"] = ("trt_profile_max_shapes", OptionKind.Text),
            ["trt_profile_opt_shapes"] = ("trt_profile_opt_shapes", OptionKind.Text),
            ["trt_cuda_graph_enable"] = ("trt_cuda_graph_enable", OptionKind.Bool),
            ["trt_dump_ep_context_model"] = ("trt_dump_ep_context_model", OptionKind.Bool),
            ["trt_ep_context_file_path"] = ("trt_ep_context_file_path", OptionKind.Text),
            ["trt_ep_context_embed_mode"] = ("trt_ep_context_embed_mode", OptionKind.Int),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    private enum OptionKind
    {
        Bool,
        Int,
        SignedInt,
        Text,
    }

    private OnnxAcceleratorSettings(
        FrozenDictionary<string, string> cuda, FrozenDictionary<string, string>? tensorRt, int[] graphBatchSizes, GpuIoCopy copy, GpuSync sync)
    {
        Sync = sync;
        CudaOptions = cuda;
        TensorRtOptionsOrNull = tensorRt;
        GraphBatchSizes = graphBatchSizes;
        IoCopy = copy;
    }

    /// <summary>Nothing configured: the CUDA provider's defaults, no TensorRT, no CUDA graphs.</summary>
    public static OnnxAcceleratorSettings None { get; } = new(FrozenDictionary<string, string>.Empty, null, [], GpuIoCopy.Stream, GpuSync.Spin);

    /// <summary>CUDA provider options by ONNX Runtime's names, values normalised (booleans as "0"/"1").</summary>
    public IReadOnlyDictionary<string, string> CudaOptions { get; }

    /// <summary>TensorRT provider options by ONNX Runtime's names, or null when TensorRT is not asked for.</summary>
    public IReadOnlyDictionary<string, string>? TensorRtOptionsOrNull { get; }

    public bool UsesTensorRt => TensorRtOptionsOrNull is not null;

    /// <summary>enable_cuda_graph is on (CUDA provider option or optimization.cuda.graphs).</summary>
    public bool CudaGraphs => CudaOptions.TryGetValue("enable_cuda_graph", out var v) && v == "1";

    /// <summary>
    /// True when each captured CUDA graph needs a session of its own: with <c>fuse_conv_bias=1</c> (cuDNN frontend
    /// fusion), replaying a graph after another size was captured in the same session fails (measured on the H100
    /// with ONNX Runtime 1.31: "misaligned address" or a hang), while one graph per session works.
    /// </summary>
    public bool GraphSessionPerSize => CudaGraphs && CudaOptions.TryGetValue("fuse_conv_bias", out var f) && f == "1";

    /// <summary>Batch sizes from optimization.cuda.graph_spec, ascending; empty: the instance chooses.</summary>
    public IReadOnlyList<int> GraphBatchSizes { get; }

    public GpuIoCopy IoCopy { get; }

    /// <summary>How an instance waits for its stream at the end of a batch.</summary>
    public GpuSync Sync { get; }

    /// <summary>Reads and checks the config; an <see cref="ErrorCode.InvalidArgument"/> error names the bad key or value,
    /// <see cref="ErrorCode.Unsupported"/> an accelerator this build lacks.</summary>
    public static Result<OnnxAcceleratorSettings> FromConfig(ModelConfig config)
    {
        var cuda = new Dictionary<string, string>(StringComparer.Ordinal);
        Dictionary<string, string>? tensorRt = null;

        foreach (var legacy in new[] { "cudnn_conv_algo_search", "gpu_mem_limit", "arena_extend_strategy", "do_copy_in_default_stream" })
        {
            if (config.Parameters.TryGetValue(legacy, out var p))
            {
                if (AddCudaOption(cuda, legacy, p.StringValue, $"parameter '{legacy}'") is { } error)
                {
                    return error;
                }
            }
        }

        var copyChoice = Choice(config, GpuIoCopyKey, ("stream", GpuIoCopy.Stream), ("ort", GpuIoCopy.Ort));
        if (!copyChoice.IsSuccess)
        {
            return copyChoice.Error!;
        }
        var syncChoice = Choice(config, GpuSyncKey, ("spin", GpuSync.Spin), ("blocking", GpuSync.Blocking));
        if (!syncChoice.IsSuccess)
        {
            return syncChoice.Error!;
        }
        var copy = copyChoice.Value;
        var sync = syncChoice.Value;

        var accelerators = config.Optimization?.ExecutionAccelerators;
        if (accelerators is not null)
        {
            for (var i = 0; i < accelerators.GpuExecutionAccelerator.Count; i++)
            {
                var a = accelerators.GpuExecutionAccelerator[i];
                var where = $"optimization.execution_accelerators.gpu_execution_accelerator[{i}]";
                switch (a.Name)
                {
                    case "tensorrt":
                        if (tensorRt is not null)
                        {
                            return Invalid($"{where}: 'tensorrt' is listed twice");
                        }
                        tensorRt = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var (key, value) in a.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                        {
                            if (AddTensorRtOption(tensorRt, key, value, where) is { } error)
                            {
                                return error;
                            }
                        }
                        break;
                    case "cuda":
                        foreach (var (key, value) in a.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                        {
                            if (AddCudaOption(cuda, key, value, $"{where} (cuda) parameter '{key}'") is { } error)
                            {
                                return error;
                            }
                        }
                        break;
                    default:
                        return Invalid($"{where}: unknown accelerator '{a.Name}' (known: tensorrt, cuda)");
                }
            }
            if (accelerators.CpuExecutionAccelerator.Count > 0)
            {
                var a = accelerators.CpuExecutionAccelerator[0];
                var where = "optimization.execution_accelerators.cpu_execution_accelerator[0]";
                return a.Name == "openvino"
                    ? new InferenceError(ErrorCode.Unsupported, $"{where}: 'openvino' is not available: this build of ONNX Runtime has no OpenVINO execution provider")
                    : Invalid($"{where}: unknown accelerator '{a.Name}' (Triton's onnxruntime backend knows only 'openvino')");
            }
        }

        var graphSizes = new SortedSet<int>();
        if (config.Optimization?.Cuda is { } cudaPolicy)
        {
            if (cudaPolicy.Graphs)
            {
                cuda["enable_cuda_graph"] = "1";
            }
            for (var i = 0; i < cudaPolicy.GraphSpec.Count; i++)
            {
                var spec = cudaPolicy.GraphSpec[i];
                var where = $"optimization.cuda.graph_spec[{i}]";
                if (spec.Input.Count > 0 || spec.GraphLowerBound is not null)
                {
                    return new InferenceError(ErrorCode.Unsupported,
                        $"{where}: per-input shapes and graph_lower_bound are not supported; give batch_size only");
                }
                if (spec.BatchSize < 1 || (config.MaxBatchSize > 0 && spec.BatchSize > config.MaxBatchSize))
                {
                    return Invalid($"{where}.batch_size {spec.BatchSize} must be in 1..max_batch_size ({config.MaxBatchSize})");
                }
                graphSizes.Add(spec.BatchSize);
            }
        }

        var enableGraphs = cuda.TryGetValue("enable_cuda_graph", out var g) && g == "1";
        if (graphSizes.Count > 0 && !enableGraphs)
        {
            return Invalid("optimization.cuda.graph_spec lists batch sizes but CUDA graphs are not enabled (optimization.cuda.graphs or enable_cuda_graph)");
        }
        if (enableGraphs && copy == GpuIoCopy.Ort)
        {
            return Invalid($"CUDA graphs need inputs and outputs bound to fixed device buffers: parameter '{GpuIoCopyKey}' must be 'stream'");
        }
        if (enableGraphs && tensorRt is not null)
        {
            return Invalid("enable_cuda_graph is a CUDA provider option; with TensorRT use its trt_cuda_graph_enable parameter");
        }

        if (cuda.Count == 0 && tensorRt is null && copy == GpuIoCopy.Stream && sync == GpuSync.Spin)
        {
            return None;
        }
        return new OnnxAcceleratorSettings(cuda.ToFrozenDictionary(StringComparer.Ordinal),
            tensorRt?.ToFrozenDictionary(StringComparer.Ordinal), [.. graphSizes], copy, sync);
    }

    private static InferenceError? AddCudaOption(Dictionary<string, string> cuda, string key, string value, string where)
    {
        var v = value.Trim();
        if (CudaReservedOptions.Contains(key))
        {
            return Invalid($"{where}: '{key}' is set by the server (instance placement), not by the model config");
        }
        if (key == "cudnn_conv_algo_search")
        {
            var mapped = v switch
            {
                "0" or "EXHAUSTIVE" => "EXHAUSTIVE",
                "1" or "HEURISTIC" => "HEURISTIC",
                "2" or "DEFAULT" => "DEFAULT",
                _ => null,
            };
            if (mapped is null)
            {
                return Invalid($"{where}: cudnn_conv_algo_search must be EXHAUSTIVE, HEURISTIC or DEFAULT (or 0, 1, 2), got '{value}'");
            }
            cuda[key] = mapped;
            return null;
        }
        if (key == "arena_extend_strategy")
        {
            var mapped = v switch
            {
                "0" or "kNextPowerOfTwo" => "kNextPowerOfTwo",
                "1" or "kSameAsRequested" => "kSameAsRequested",
                _ => null,
            };
            if (mapped is null)
            {
                return Invalid($"{where}: arena_extend_strategy must be kNextPowerOfTwo or kSameAsRequested (or 0, 1), got '{value}'");
            }
            cuda[key] = mapped;
            return null;
        }
        if (CudaBoolOptions.Contains(key))
        {
            return SetBool(cuda, key, key, v, value, where);
        }
        if (CudaIntOptions.Contains(key))
        {
            return SetInt(cuda, key, key, v, value, where, signed: false);
        }
        return Invalid($"{where}: unknown CUDA execution provider option '{key}'");
    }

    private static InferenceError? AddTensorRtOption(Dictionary<string, string> trt, string key, string value, string where)
    {
        var v = value.Trim();
        if (key == "precision_mode")
        {
            switch (v)
            {
                case "FP32": trt["trt_fp16_enable"] = "0"; trt["trt_int8_enable"] = "0"; return null;
                case "FP16": trt["trt_fp16_enable"] = "1"; trt["trt_int8_enable"] = "0"; return null;
                // INT8 keeps FP16 on so that layers without int8 kernels are not forced to FP32.
                case "INT8": trt["trt_fp16_enable"] = "1"; trt["trt_int8_enable"] = "1"; return null;
                default:
                    return Invalid($"{where} (tensorrt) parameter 'precision_mode' must be FP32, FP16 or INT8, got '{value}'");
            }
        }
        if (!TensorRtOptions.TryGetValue(key, out var option))
        {
            return Invalid($"{where} (tensorrt): unknown parameter '{key}'");
        }
        var at = $"{where} (tensorrt) parameter '{key}'";
        return option.Kind switch
        {
            OptionKind.Bool => SetBool(trt, key, option.OrtName, v, value, at),
            OptionKind.Int => SetInt(trt, key, option.OrtName, v, value, at, signed: false),
            OptionKind.SignedInt => SetInt(trt, key, option.OrtName, v, value, at, signed: true),
            _ => v.Length == 0 ? Invalid($"{at}: empty value") : Set(trt, option.OrtName, v),
        };
    }

    private static InferenceError? SetBool(Dictionary<string, string> target, string key, string ortName, string v, string raw, string where)
    {
        var b = v.ToLowerInvariant() switch
        {
            "1" or "true" => "1",
            "0" or "false" => "0",
            _ => null,
        };
        return b is null ? Invalid($"{where}: '{key}' must be 0/1 or true/false, got '{raw}'") : Set(target, ortName, b);
    }

    private static InferenceError? SetInt(Dictionary<string, string> target, string key, string ortName, string v, string raw, string where, bool signed)
    {
        if (!long.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n)
            || (!signed && n < 0))
        {
            return Invalid($"{where}: '{key}' must be an integer{(signed ? "" : " >= 0")}, got '{raw}'");
        }
        return Set(target, ortName, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static InferenceError? Set(Dictionary<string, string> target, string key, string value)
    {
        target[key] = value;
        return null;
    }

    /// <summary>A parameter naming one of <paramref name="choices"/> (the first is the default when it is absent).</summary>
    private static Result<T> Choice<T>(ModelConfig config, string key, params (string Name, T Value)[] choices)
    {
        if (!config.Parameters.TryGetValue(key, out var parameter))
        {
            return choices[0].Value;
        }
        var text = parameter.StringValue.Trim();
        foreach (var (name, value) in choices)
        {
            if (text == name)
            {
                return value;
            }
        }
        return Invalid($"parameter '{key}' must be {string.Join(" or ", choices.Select(c => $"'{c.Name}'"))}, got '{parameter.StringValue}'");
    }

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
