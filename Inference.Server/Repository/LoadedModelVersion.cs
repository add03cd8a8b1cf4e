using Inference.Server.Core;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Server.Repository;

/// <summary>
/// One model version that is serving: its completed config, request schema, instances and scheduler.
/// Immutable once built; <see cref="DisposeAsync"/> drains the scheduler and then releases the instances.
/// </summary>
public sealed class LoadedModelVersion(
    string name,
    long version,
    ModelConfig config,
    ModelIOSchema schema,
    IReadOnlyList<IModelInstance> instances,
    IScheduler scheduler,
    ModelStatistics statistics) : IAsyncDisposable
{
    public string Name { get; } = name;

    public long Version { get; } = version;

    public string VersionText { get; } = version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public ModelConfig Config { get; } = config;

    public ModelIOSchema Schema { get; } = schema;

    public IReadOnlyList<IModelInstance> Instances { get; } = instances;

    public IScheduler Scheduler { get; } = scheduler;

    public ModelStatistics Statistics { get; } = statistics;

    public async ValueTask DisposeAsync()
    {
        await Scheduler.StopAsync().ConfigureAwait(false);
        await Scheduler.DisposeAsync().ConfigureAwait(false);
        foreach (var instance in Instances)
        {
            instance.Dispose();
        }
    }
}
