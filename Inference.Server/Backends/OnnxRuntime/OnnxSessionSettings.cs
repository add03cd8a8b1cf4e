using System.Globalization;
using Inference.Server.Core;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Session options of an ONNX Runtime model, read from its config the way Triton's onnxruntime backend reads
/// them. Thread counts of 0 leave the choice to ONNX Runtime.
/// </summary>
public sealed record OnnxSessionSettings
{
    public const string IntraOpThreadCountKey = "intra_op_thread_count";
    public const string InterOpThreadCountKey = "inter_op_thread_count";
    public const string ExecutionModeKey = "execution_mode";

    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; }

    public ExecutionMode ExecutionMode { get; init; } = ExecutionMode.ORT_SEQUENTIAL;

    /// <summary>Execution providers and GPU I/O (see <see cref="OnnxAcceleratorSettings"/>).</summary>
    public OnnxAcceleratorSettings Accelerators { get; init; } = OnnxAcceleratorSettings.None;

    public static OnnxSessionSettings Default { get; } = new();

    /// <summary>
    /// <c>optimization.graph.level</c>: -1 basic, 0 (default) all, 1 extended, 2 disabled.
    /// <c>parameters</c>: <c>intra_op_thread_count</c> and <c>inter_op_thread_count</c> (integers ≥ 0),
    /// <c>execution_mode</c> (0 sequential, 1 parallel). Without <c>intra_op_thread_count</c>, a model with several
    /// CPU instances splits the cores between them (cores / instances threads each, at least 1) instead of giving
    /// every instance a pool as large as the machine. Other parameter keys are ignored; a bad value of a
    /// known key is an <see cref="ErrorCode.InvalidArgument"/> error naming it. Execution accelerators and CUDA
    /// provider options are read by <see cref="OnnxAcceleratorSettings.FromConfig"/>.
    /// </summary>
    public static Result<OnnxSessionSettings> FromConfig(ModelConfig config)
    {
        var settings = new OnnxSessionSettings();
        var level = config.Optimization?.Graph?.Level ?? 0;
        switch (level)
        {
            case -1: settings = settings with { OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC }; break;
            case 0: break;
            case 1: settings = settings with { OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED }; break;
            case 2: settings = settings with { OptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL }; break;
            default:
                return Invalid($"optimization.graph.level {level} is not one of -1, 0, 1, 2");
        }

        if (config.Parameters.TryGetValue(IntraOpThreadCountKey, out var intra))
        {
            if (!TryParseCount(intra.StringValue, out var n))
            {
                return Invalid($"parameter '{IntraOpThreadCountKey}' must be an integer >= 0, got '{intra.StringValue}'");
            }
            settings = settings with { IntraOpThreads = n };
        }
        else if (CpuInstanceCount(config) is > 1 and var cpuInstances)
        {
            // Several CPU instances each with ONNX Runtime's default pool (one thread per core) oversubscribe the
            // cores: on 2 cores, 2 instances ran ResNet-50 at 12.8 images/s against 19.6 for one (docs/benchmarks.md).
            settings = settings with { IntraOpThreads = Math.Max(1, Environment.ProcessorCount / cpuInstances) };
        }
        if (config.Parameters.TryGetValue(InterOpThreadCountKey, out var inter))
        {
            if (!TryParseCount(inter.StringValue, out var n))
            {
                return Invalid($"parameter '{InterOpThreadCountKey}' must be an integer >= 0, got '{inter.StringValue}'");
            }
            settings = settings with { InterOpThreads = n };
        }
        if (config.Parameters.TryGetValue(ExecutionModeKey, out var mode))
        {
            switch (mode.StringValue.Trim())
            {
                case "0": settings = settings with { ExecutionMode = ExecutionMode.ORT_SEQUENTIAL }; break;
                case "1": settings = settings with { ExecutionMode = ExecutionMode.ORT_PARALLEL }; break;
                default:
                    return Invalid($"parameter '{ExecutionModeKey}' must be 0 (sequential) or 1 (parallel), got '{mode.StringValue}'");
            }
        }
        var accelerators = OnnxAcceleratorSettings.FromConfig(config);
        if (!accelerators.IsSuccess)
        {
            return accelerators.Error!;
        }
        return settings with { Accelerators = accelerators.Value! };
    }

    /// <summary>New session options with these settings (the caller disposes them).</summary>
    internal SessionOptions CreateSessionOptions(string logId) => new()
    {
        GraphOptimizationLevel = OptimizationLevel,
        IntraOpNumThreads = IntraOpThreads,
        InterOpNumThreads = InterOpThreads,
        ExecutionMode = ExecutionMode,
        LogId = logId,
        LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
    };

    /// <summary>Instances that run on the CPU: every group but KIND_GPU ones (KIND_AUTO falls back to the CPU here).</summary>
    private static int CpuInstanceCount(ModelConfig config) => config.InstanceGroup
        .Where(g => g.Kind != Protos.ModelInstanceGroup.Types.Kind.Gpu)
        .Sum(g => Math.Max(g.Count, 1));

    private static bool TryParseCount(string text, out int value) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 0;

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
