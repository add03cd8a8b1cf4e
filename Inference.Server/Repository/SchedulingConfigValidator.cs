using Inference.Server.Core;
using Inference.Server.Protos;
using Kind = Inference.Server.Protos.ModelInstanceGroup.Types.Kind;

namespace Inference.Server.Repository;

/// <summary>Validation of the scheduling choice and the instance groups (part of <see cref="ModelConfigValidator"/>).</summary>
internal static class SchedulingConfigValidator
{
    public static InferenceError? ValidateScheduling(ModelConfig config, string f)
    {
        switch (config.SchedulingChoiceCase)
        {
            case ModelConfig.SchedulingChoiceOneofCase.SequenceBatching:
                return SequenceBatchingConfig.Validate(config, f);
            case ModelConfig.SchedulingChoiceOneofCase.DynamicBatching:
                return ValidateDynamicBatching(config.DynamicBatching, config.MaxBatchSize, f);
            default:
                return null;
        }
    }

    private static InferenceError? ValidateDynamicBatching(ModelDynamicBatching db, int maxBatchSize, string f)
    {
        if (maxBatchSize <= 0)
        {
            return ConfigErrors.Invalid(f, "dynamic_batching", "requires max_batch_size > 0");
        }
        for (int i = 0; i < db.PreferredBatchSize.Count; i++)
        {
            var p = db.PreferredBatchSize[i];
            if (p <= 0 || p > maxBatchSize)
            {
                return ConfigErrors.Invalid(f, $"dynamic_batching.preferred_batch_size[{i}]",
                    $"{p} is not valid; preferred batch sizes must be in 1..max_batch_size ({maxBatchSize})");
            }
        }
        if (db.PriorityLevels > int.MaxValue)
        {
            return ConfigErrors.Invalid(f, "dynamic_batching.priority_levels", $"{db.PriorityLevels} is too large");
        }
        if (db.PriorityLevels == 0)
        {
            if (db.DefaultPriorityLevel != 0)
            {
                return ConfigErrors.Invalid(f, "dynamic_batching.default_priority_level", "must be 0 when priority_levels is 0");
            }
            if (db.PriorityQueuePolicy.Count > 0)
            {
                return ConfigErrors.Invalid(f, "dynamic_batching.priority_queue_policy", "requires priority_levels > 0");
            }
        }
        else if (db.DefaultPriorityLevel < 1 || db.DefaultPriorityLevel > db.PriorityLevels)
        {
            return ConfigErrors.Invalid(f, "dynamic_batching.default_priority_level",
                $"{db.DefaultPriorityLevel} is not valid; it must be in 1..priority_levels ({db.PriorityLevels})");
        }
        foreach (var (level, policy) in db.PriorityQueuePolicy)
        {
            if (level < 1 || level > db.PriorityLevels)
            {
                return ConfigErrors.Invalid(f, $"dynamic_batching.priority_queue_policy[{level}]",
                    $"priority level {level} is not in 1..priority_levels ({db.PriorityLevels})");
            }
            if (ValidateQueuePolicy(policy, $"dynamic_batching.priority_queue_policy[{level}]", f) is { } e)
            {
                return e;
            }
        }
        return db.DefaultQueuePolicy is null ? null : ValidateQueuePolicy(db.DefaultQueuePolicy, "dynamic_batching.default_queue_policy", f);
    }

    private static InferenceError? ValidateQueuePolicy(ModelQueuePolicy p, string path, string f)
    {
        if (!Enum.IsDefined(p.TimeoutAction))
        {
            return ConfigErrors.Invalid(f, path + ".timeout_action", $"{(int)p.TimeoutAction} is not REJECT or DELAY");
        }
        if (p.DefaultTimeoutMicroseconds > long.MaxValue / 1000)
        {
            return ConfigErrors.Invalid(f, path + ".default_timeout_microseconds", $"{p.DefaultTimeoutMicroseconds} is too large");
        }
        return null;
    }

    public static InferenceError? ValidateInstanceGroups(ModelConfig config, string f)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.InstanceGroup.Count; i++)
        {
            var g = config.InstanceGroup[i];
            var path = $"instance_group[{i}]";
            if (g.Count < 0)
            {
                return ConfigErrors.Invalid(f, path + ".count", $"must be >= 1, got {g.Count}");
            }
            if (g.Count == 0)
            {
                g.Count = 1;
            }
            if (g.Name.Length > 0 && !names.Add(g.Name))
            {
                return ConfigErrors.Invalid(f, path + ".name", $"'{g.Name}' is used by another instance group");
            }
            switch (g.Kind)
            {
                case Kind.Cpu when g.Gpus.Count > 0:
                    return ConfigErrors.Invalid(f, path + ".gpus", "is only valid for KIND_GPU or KIND_AUTO groups");
                case Kind.Model:
                    return ConfigErrors.Unsupported(f, path + ".kind", "KIND_MODEL is not supported by the onnxruntime backend");
                case Kind.Cpu or Kind.Gpu or Kind.Auto:
                    break;
                default:
                    return ConfigErrors.Invalid(f, path + ".kind", $"{(int)g.Kind} is not a valid instance group kind");
            }
            foreach (var gpu in g.Gpus)
            {
                if (gpu < 0)
                {
                    return ConfigErrors.Invalid(f, path + ".gpus", $"GPU id {gpu} is not valid");
                }
            }
            if (InstanceRateLimiting.Validate(g.RateLimiter, path, f) is { } rateLimiterError)
            {
                return rateLimiterError;
            }
            if (g.SecondaryDevices.Count > 0)
            {
                return ConfigErrors.Unsupported(f, path + ".secondary_devices", "is not supported by the onnxruntime backend");
            }
        }
        return null;
    }
}
