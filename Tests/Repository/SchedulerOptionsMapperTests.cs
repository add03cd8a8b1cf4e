using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Server.Scheduling;

namespace Inference.Tests.Repository;

public class SchedulerOptionsMapperTests
{
    [Fact]
    public void FromConfig_MapsDynamicBatchingAndQueuePolicies()
    {
        var config = PbtxtParser.ParseModelConfig(SampleConfigs.Resnet, "c").Value!;
        var o = SchedulerOptionsMapper.FromConfig(config);
        Assert.Equal(8, o.MaxBatchSize);
        Assert.True(o.DynamicBatching);
        Assert.Equal([4, 8], o.PreferredBatchSizes);
        Assert.Equal(100, o.MaxQueueDelayMicroseconds);
        Assert.True(o.PreserveOrdering);
        Assert.Equal(2u, o.PriorityLevels);
        Assert.Equal(2u, o.DefaultPriorityLevel);
        Assert.Equal(new QueuePolicy(TimeoutAction.Reject, 5000, false, 64), o.DefaultQueuePolicy);
        Assert.Equal(new QueuePolicy(TimeoutAction.Delay, 1000, true, 0), Assert.Single(o.PriorityQueuePolicy).Value);
        Assert.Equal(1u, o.PriorityQueuePolicy.Keys.Single());
    }

    [Fact]
    public void FromConfig_WithoutDynamicBatching_DisablesIt()
    {
        var o = SchedulerOptionsMapper.FromConfig(new ModelConfig { MaxBatchSize = 4 });
        Assert.False(o.DynamicBatching);
        Assert.Equal(4, o.MaxBatchSize);
        Assert.Empty(o.PreferredBatchSizes);
        Assert.Equal(new QueuePolicy(), o.DefaultQueuePolicy);
    }

    [Fact]
    public void FromConfig_EmptyDynamicBatching_UsesDefaults()
    {
        var o = SchedulerOptionsMapper.FromConfig(new ModelConfig { MaxBatchSize = 4, DynamicBatching = new() });
        Assert.True(o.DynamicBatching);
        Assert.Equal(0, o.MaxQueueDelayMicroseconds);
        Assert.Equal(0u, o.PriorityLevels);
        Assert.Equal(new QueuePolicy(), o.DefaultQueuePolicy);
    }
}
