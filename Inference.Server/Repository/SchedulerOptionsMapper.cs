using Inference.Server.Protos;
using Inference.Server.Scheduling;

namespace Inference.Server.Repository;

/// <summary>Maps the scheduling part of a validated config to <see cref="SchedulerOptions"/>. Thread-safe.</summary>
public static class SchedulerOptionsMapper
{
    /// <summary>Without dynamic_batching, <see cref="SchedulerOptions.DynamicBatching"/> is false and only
    /// max_batch_size carries over. Expects a config that passed <see cref="ModelConfigValidator"/>
    /// (priority levels fit in uint).</summary>
    public static SchedulerOptions FromConfig(ModelConfig config)
    {
        if (config.SchedulingChoiceCase != ModelConfig.SchedulingChoiceOneofCase.DynamicBatching)
        {
            return new SchedulerOptions { MaxBatchSize = config.MaxBatchSize, DynamicBatching = false };
        }
        var db = config.DynamicBatching;
        var perLevel = new Dictionary<uint, QueuePolicy>();
        foreach (var (level, policy) in db.PriorityQueuePolicy)
        {
            perLevel[checked((uint)level)] = Map(policy);
        }
        return new SchedulerOptions
        {
            MaxBatchSize = config.MaxBatchSize,
            DynamicBatching = true,
            PreferredBatchSizes = [.. db.PreferredBatchSize.Order()],
            MaxQueueDelayMicroseconds = checked((long)db.MaxQueueDelayMicroseconds),
            PreserveOrdering = db.PreserveOrdering,
            PriorityLevels = checked((uint)db.PriorityLevels),
            DefaultPriorityLevel = checked((uint)db.DefaultPriorityLevel),
            DefaultQueuePolicy = db.DefaultQueuePolicy is null ? new QueuePolicy() : Map(db.DefaultQueuePolicy),
            PriorityQueuePolicy = perLevel,
        };
    }

    private static QueuePolicy Map(ModelQueuePolicy p) => new(
        p.TimeoutAction == ModelQueuePolicy.Types.TimeoutAction.Delay ? TimeoutAction.Delay : TimeoutAction.Reject,
        p.DefaultTimeoutMicroseconds,
        p.AllowTimeoutOverride,
        p.MaxQueueSize);
}
