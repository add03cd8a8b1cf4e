using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.AppHost;

/// <summary>
/// Starts the AppHost for real (DCP and the dashboard) where no container runtime answers and Prometheus is asked to
/// run as a container: prometheus and grafana must reach FailedToStart with the reason in their properties and
/// console logs, instead of sitting at Starting or Waiting. The projects are removed first: this is about the
/// monitoring resources, and the server's own start is covered by <see cref="AppHostStartupTests"/>.
/// </summary>
public sealed class UnavailableResourcesStartupTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeContainerRuntimes _runtimes = new();

    public void Dispose() => _runtimes.Dispose();

    [Fact]
    public async Task WithoutAContainerRuntime_PrometheusContainerAndGrafana_FailToStart_SayingWhy()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["DOTNET_LAUNCH_PROFILE=http", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00",
             "Monitoring:Prometheus=container", "PATH=" + _runtimes.Absent], Ct);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            builder.Resources.Remove(project);
        }
        await using var app = await builder.BuildAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await app.StartAsync(timeout.Token);

        foreach (var name in new[] { "prometheus", "grafana" })
        {
            var current = await app.ResourceNotifications.WaitForResourceAsync(name, e => e.Snapshot.State?.Text == KnownResourceStates.FailedToStart, timeout.Token);
            var reason = Assert.Single(current.Snapshot.Properties, p => p.Name == "reason").Value as string;
            Assert.Contains("no container runtime answers (no 'docker' on PATH; no 'podman' on PATH)", reason ?? "", StringComparison.Ordinal);
            Assert.Equal(KnownResourceStateStyles.Error, current.Snapshot.State?.Style);

            var logs = app.Services.GetRequiredService<ResourceLoggerService>().WatchAsync(name);
            await foreach (var batch in logs.WithCancellation(timeout.Token))
            {
                if (batch.Any(line => line.Content.Contains("no container runtime answers", StringComparison.Ordinal)))
                {
                    break;
                }
            }
        }
    }
}
