using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>The AppHost's application model, built (not started) through Aspire.Hosting.Testing.</summary>
public sealed class AppHostModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Model_WiresInferencePrometheusGrafanaAndLoadTest()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["DOTNET_LAUNCH_PROFILE=http"], Ct);
        var resources = builder.Resources.ToDictionary(r => r.Name);

        // Aspire adds helper resources of its own (e.g. "<project>-rebuilder"); ours are these four.
        Assert.Subset(resources.Keys.ToHashSet(), new HashSet<string> { "grafana", "inference", "loadtest", "prometheus" });

        var inference = Assert.IsType<ProjectResource>(resources["inference"]);
        var endpoints = inference.Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);
        Assert.Equal((8000, "http"), (endpoints["http"].Port, endpoints["http"].Transport));
        Assert.Equal((8001, "http2"), (endpoints["grpc"].Port, endpoints["grpc"].Transport));
        Assert.Equal(8002, endpoints["metrics"].Port);
        Assert.Contains(inference.Annotations.OfType<HealthCheckAnnotation>(), _ => true);

        Assert.IsType<ExecutableResource>(resources["prometheus"]);
        Assert.IsType<ContainerResource>(resources["grafana"]);

        var loadTest = Assert.IsType<ProjectResource>(resources["loadtest"]);
        Assert.Contains(loadTest.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "inference");
        Assert.Contains(loadTest.Annotations, a => a.GetType().Name == "ExplicitStartupAnnotation");
    }
}
