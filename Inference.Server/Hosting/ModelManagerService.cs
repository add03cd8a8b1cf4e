using Inference.Server.Repository;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Inference.Server.Hosting;

/// <summary>Loads the start-up models when the host starts (in the background, so the server is live
/// while they load), polls the repository in poll mode, and drains every model at shutdown.</summary>
public sealed class ModelManagerService(ModelManager manager, IOptions<InferenceServerOptions> options, TimeProvider timeProvider)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await manager.StartAsync(stoppingToken).ConfigureAwait(false);
        if (options.Value.ModelControlMode != ModelControlMode.Poll)
        {
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RepositoryPollSeconds), timeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await manager.PollOnceAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await manager.DisposeAsync().ConfigureAwait(false);
    }
}
