using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>
/// Starts the AppHost's non-container resources for real (DCP, the inference server on its default repository,
/// Debian's Prometheus) and waits until the inference server is healthy; Grafana is removed first because no
/// container runtime exists on the development and CI machines.
/// </summary>
public sealed class AppHostStartupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task InferenceServer_BecomesHealthy_AndServesResNet50()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["DOTNET_LAUNCH_PROFILE=http", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00"], Ct);
        foreach (var container in builder.Resources.OfType<ContainerResource>().ToList())
        {
            builder.Resources.Remove(container);
        }
        await using var app = await builder.BuildAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        await app.StartAsync(timeout.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("inference", timeout.Token);

        using var http = app.CreateHttpClient("inference", "http");
        using var ready = await http.GetAsync("/v2/models/resnet50/ready", timeout.Token);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var metadata = await http.GetStringAsync("/v2/models/resnet50", timeout.Token);
        Assert.Contains("\"shape\":[-1,3,224,224]", metadata, StringComparison.Ordinal);
    }
}
