using System.Net;
using System.Net.Sockets;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>The AppHost's ports are parameters, and one that another process holds stops the start, naming it.</summary>
public sealed class AppHostPortsTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeContainerRuntimes _runtimes = new();

    public void Dispose() => _runtimes.Dispose();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task PortParameters_SetTheEndpoints()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["DOTNET_LAUNCH_PROFILE=http", "Monitoring:Prometheus=executable", "Parameters:inference-http-port=18000",
             "Parameters:inference-grpc-port=18001", "Parameters:inference-metrics-port=18002", "Parameters:prometheus-port=19090",
             "Parameters:grafana-port=13000", "PATH=" + _runtimes.Answering], Ct);
        int Port(string resource, string endpoint) => builder.Resources.Single(r => r.Name == resource)
            .Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpoint).Port!.Value;

        Assert.Equal([18000, 18001, 18002, 19090, 13000],
            [Port("inference", "http"), Port("inference", "grpc"), Port("inference", "metrics"), Port("prometheus", "http"), Port("grafana", "http")]);
    }

    [Fact]
    public async Task SamePortTwice_IsRejectedNamingBoth()
    {
        var error = await Assert.ThrowsAsync<DistributedApplicationException>(() => DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["DOTNET_LAUNCH_PROFILE=http", "Parameters:grafana-port=8000"], Ct));
        Assert.Equal("Parameters:grafana-port and Parameters:inference-http-port are both 8000; give each its own port.", error.Message);
    }

    /// <summary>As a user starts it (its own process, a home folder of its own): exit code 1 and one line naming the
    /// port and the parameter, well before anything would have started.</summary>
    [Fact]
    public async Task APortInUse_StopsTheStart_NamingThePortAndItsParameter()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var taken = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var home = Directory.CreateTempSubdirectory("apphost-ports-");
        try
        {
            var result = await Deployment.AppHostProcess.RunAsync(home.FullName, new Dictionary<string, string>(), Ct,
                $"--Parameters:inference-http-port={taken}", $"--Parameters:inference-grpc-port={FreePort()}",
                $"--Parameters:inference-metrics-port={FreePort()}", $"--Parameters:prometheus-port={FreePort()}",
                $"--Parameters:grafana-port={FreePort()}", "--Monitoring:Prometheus=executable");

            Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}: {result.Output}");
            Assert.Contains($"error: Ports in use by another process on this machine: {taken} (the inference server's HTTP (KServe v2); change it with --Parameters:inference-http-port=PORT)",
                result.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }
}
