using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>
/// The real AppHost under Aspire's testing builder (http launch profile, no wait for a container runtime) with its
/// container resources removed, because no container runtime exists on the development and CI machines: what the
/// tests that start DCP, the server and Prometheus as an executable build on.
/// </summary>
internal static class AppHostWithoutContainers
{
    /// <summary>The builder (its resources, for lookups) and the application built from it, not yet started.</summary>
    public static async Task<(IDistributedApplicationTestingBuilder Builder, DistributedApplication App)> BuildAsync(
        IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["DOTNET_LAUNCH_PROFILE=http", "DcpPublisher:ContainerRuntimeInitializationTimeout=00:00:00", .. args], cancellationToken);
        foreach (var container in builder.Resources.OfType<ContainerResource>().ToList())
        {
            builder.Resources.Remove(container);
        }
        return (builder, await builder.BuildAsync(cancellationToken));
    }
}
