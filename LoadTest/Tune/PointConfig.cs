using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace LoadTest.Tune;

/// <summary>
/// The model config of a point: the variant's completed config (name, inputs, outputs, max_batch_size as the
/// server auto-completes them) with the point's instance group, dynamic batching and optimization set. Everything
/// else of the base config (labels, parameters, warmup, queue policies) is kept. The result is checked by the
/// server's own validator and accelerator parser (<see cref="Validate"/>), so a point that the server would refuse
/// is found before it is sent. Pure.
/// </summary>
public static class PointConfig
{
    public static ModelConfig Build(ModelConfig variantBase, TunePoint point)
    {
        var config = variantBase.Clone();
        config.InstanceGroup.Clear();
        config.InstanceGroup.Add(new ModelInstanceGroup
        {
            Count = point.Instances,
            Kind = point.Accelerator.IsGpu ? ModelInstanceGroup.Types.Kind.Gpu : ModelInstanceGroup.Types.Kind.Cpu,
        });
        if (point.QueueDelayUs is { } delay)
        {
            var batching = config.DynamicBatching?.Clone() ?? new ModelDynamicBatching();
            batching.MaxQueueDelayMicroseconds = (ulong)delay;
            batching.PreferredBatchSize.Clear();
            batching.PreferredBatchSize.Add(point.PreferredBatchSizes);
            config.DynamicBatching = batching;
        }
        else
        {
            config.ClearSchedulingChoice();
        }

        var optimization = config.Optimization?.Clone() ?? new ModelOptimizationPolicy();
        optimization.ExecutionAccelerators = null;
        optimization.Cuda = null;
        if (point.Accelerator.IsGpu)
        {
            var accelerator = new ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator { Name = point.Accelerator.Name };
            foreach (var (key, value) in point.Accelerator.Parameters)
            {
                accelerator.Parameters[key] = value;
            }
            optimization.ExecutionAccelerators = new ModelOptimizationPolicy.Types.ExecutionAccelerators();
            optimization.ExecutionAccelerators.GpuExecutionAccelerator.Add(accelerator);
        }
        if (point.CudaGraphBatchSizes.Count > 0)
        {
            optimization.Cuda = new ModelOptimizationPolicy.Types.Cuda { Graphs = true };
            optimization.Cuda.GraphSpec.Add(point.CudaGraphBatchSizes.Select(b => new ModelOptimizationPolicy.Types.Cuda.Types.GraphSpec { BatchSize = b }));
        }
        config.Optimization = optimization.Equals(new ModelOptimizationPolicy()) ? null : optimization;
        return config;
    }

    /// <summary>Null when the server's config validator and ONNX Runtime accelerator parser accept
    /// <paramref name="config"/>; otherwise their message.</summary>
    public static string? Validate(ModelConfig config)
    {
        if (ModelConfigValidator.Validate(config, "tune config", config.Name) is { } invalid)
        {
            return invalid.Message;
        }
        var accelerators = OnnxAcceleratorSettings.FromConfig(config);
        return accelerators.IsSuccess ? null : accelerators.Error!.Message;
    }
}
