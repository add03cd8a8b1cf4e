using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>The AppHost's application model, built (not started) through Aspire.Hosting.Testing.</summary>
public sealed class AppHostModelTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeContainerRuntimes _runtimes = new();

    public void Dispose() => _runtimes.Dispose();

    private static async Task<Dictionary<string, IResource>> ModelAsync(params string[] args)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["DOTNET_LAUNCH_PROFILE=http", .. args], Ct);
        return builder.Resources.ToDictionary(r => r.Name);
    }

    [Fact]
    public async Task Model_WiresInferencePrometheusGrafanaAndLoadTest()
    {
        var resources = await ModelAsync("Monitoring:Prometheus=executable", "PATH=" + _runtimes.Answering);

        // Aspire adds helper resources of its own (e.g. "<project>-rebuilder"); ours are these six.
        Assert.Subset(resources.Keys.ToHashSet(),
            new HashSet<string> { "grafana", "inference", "inference-device", "inference-replicas", "loadtest", "prometheus" });

        var inference = Assert.IsType<ProjectResource>(resources["inference"]);
        var endpoints = inference.Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name);
        Assert.Equal((8000, "http"), (endpoints["http"].Port, endpoints["http"].Transport));
        Assert.Equal((8001, "http2"), (endpoints["grpc"].Port, endpoints["grpc"].Transport));
        Assert.Equal(8002, endpoints["metrics"].Port);
        // Proxied without a fixed target port: each replica gets a port of its own behind the shared 8000-8002.
        Assert.All(endpoints.Values, e => Assert.True(e.IsProxied && e.TargetPort is null, e.Name));
        Assert.Contains(inference.Annotations.OfType<HealthCheckAnnotation>(), _ => true);

        var prometheus = Assert.IsType<ExecutableResource>(resources["prometheus"]);
        Assert.Equal("/usr/bin/prometheus", prometheus.Command);
        var references = prometheus.Annotations.OfType<ResourceRelationshipAnnotation>().Where(r => r.Type == "Reference").Select(r => r.Resource.Name);
        Assert.Subset(references.ToHashSet(), new HashSet<string> { "inference", "loadtest" });
        Assert.Contains(prometheus.Annotations.OfType<HealthCheckAnnotation>(), _ => true);

        var grafana = Assert.IsType<ContainerResource>(resources["grafana"]);
        Assert.Contains(grafana.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "prometheus");

        var loadTest = Assert.IsType<ProjectResource>(resources["loadtest"]);
        Assert.Contains(loadTest.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "inference");
        Assert.Contains(loadTest.Annotations, a => a.GetType().Name == "ExplicitStartupAnnotation");
    }

    [Fact]
    public async Task Parameters_Default_ToOneCpuReplica()
    {
        var resources = await ModelAsync();

        Assert.Equal("1", await ValueAsync(resources["inference-replicas"]));
        Assert.Equal("cpu", await ValueAsync(resources["inference-device"]));
        Assert.Equal(1, resources["inference"].Annotations.OfType<ReplicaAnnotation>().Single().Replicas);
        Assert.Same(resources["inference-device"], await EnvironmentAsync(resources["inference"], "Inference__ModelConfigName"));
    }

    [Fact]
    public async Task Parameters_FromConfiguration_SetTheReplicasAndTheServersModelConfigName()
    {
        var resources = await ModelAsync("Parameters:inference-replicas=3", "Parameters:inference-device=GPU");

        Assert.Equal("3", await ValueAsync(resources["inference-replicas"]));
        Assert.Equal(3, resources["inference"].Annotations.OfType<ReplicaAnnotation>().Single().Replicas);
        Assert.Equal("gpu", await ValueAsync(resources["inference-device"]));
        Assert.Same(resources["inference-device"], await EnvironmentAsync(resources["inference"], "Inference__ModelConfigName"));
    }

    [Theory]
    [InlineData("Parameters:inference-replicas=0", "Parameters:inference-replicas must be a whole number of at least 1 (got '0')")]
    [InlineData("Parameters:inference-replicas=two", "Parameters:inference-replicas must be a whole number of at least 1 (got 'two')")]
    [InlineData("Parameters:inference-device=tpu", "Parameters:inference-device must be one of cpu, gpu (got 'tpu')")]
    [InlineData("Monitoring:Prometheus=helm", "Monitoring:Prometheus must be auto, container or executable (got 'helm')")]
    public async Task InvalidSettings_FailTheBuild_NamingTheKey(string setting, string message)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ModelAsync(setting));

        Assert.Contains(message, FlattenMessages(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prometheus_InContainerMode_IsTheOfficialImageOverTheGeneratedConfiguration()
    {
        var resources = await ModelAsync("Monitoring:Prometheus=container", "PATH=" + _runtimes.Answering);

        var prometheus = Assert.IsType<ContainerResource>(resources["prometheus"]);
        var image = prometheus.Annotations.OfType<ContainerImageAnnotation>().Single();
        Assert.Equal(("prom/prometheus", "v2.55.1"), (image.Image, image.Tag));
        var mount = Assert.Single(prometheus.Annotations.OfType<ContainerMountAnnotation>());
        Assert.Equal((Path.Combine(AppHostDirectory, "obj", "prometheus"), "/etc/prometheus", true), (mount.Source, mount.Target, mount.IsReadOnly));
        var http = prometheus.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == "http");
        Assert.Equal((9090, 9090), (http.Port, http.TargetPort));
    }

    [Fact]
    public async Task Prometheus_InAutoMode_FollowsTheContainerRuntimeProbe()
    {
        var runtime = ContainerRuntimeProbe.FindUsable(
            Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME"), Environment.GetEnvironmentVariable("PATH"), ContainerRuntimeProbe.DefaultTimeout);

        var resources = await ModelAsync();

        Assert.IsType(runtime is null ? typeof(ExecutableResource) : typeof(ContainerResource), resources["prometheus"]);
    }

    [Fact]
    public async Task WithoutAContainerRuntime_GrafanaIsUnavailable_SayingWhy_AndPrometheusRunsAsAnExecutable()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/prometheus"), "Debian's prometheus is not installed");

        var resources = await ModelAsync("PATH=" + _runtimes.Absent);

        Assert.IsType<ExecutableResource>(resources["prometheus"]);
        var grafana = Assert.IsType<UnavailableResource>(resources["grafana"]);
        Assert.Equal("Grafana runs as the container grafana/grafana:11.4.0, and no container runtime answers (no 'docker' on PATH; " +
            "no 'podman' on PATH). Start Docker or Podman and restart the AppHost; until then Prometheus's own pages show the metrics.",
            grafana.Reason);
    }

    [Fact]
    public async Task PrometheusInContainerMode_WithoutAContainerRuntime_IsUnavailable_AndSoIsGrafana()
    {
        var resources = await ModelAsync("Monitoring:Prometheus=container", "PATH=" + _runtimes.Failing);

        var prometheus = Assert.IsType<UnavailableResource>(resources["prometheus"]);
        Assert.Equal("Monitoring:Prometheus=container, and no container runtime answers ('docker info' failed (exit 1): Cannot " +
            "connect to the Docker daemon at unix:///var/run/docker.sock.; no 'podman' on PATH). Start Docker or Podman, or set " +
            "Monitoring:Prometheus=auto or executable to run Debian's /usr/bin/prometheus.", prometheus.Reason);
        Assert.StartsWith("Grafana runs as the container", Assert.IsType<UnavailableResource>(resources["grafana"]).Reason, StringComparison.Ordinal);
    }

    internal static string AppHostDirectory => Path.Combine(RepositoryRoot, "AppHost");

    /// <summary>The repository root: the folder above the test assembly's that holds AspireInference.sln.</summary>
    internal static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "AspireInference.sln")))
                {
                    return dir.FullName;
                }
            }
            throw new InvalidOperationException("AspireInference.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static async Task<string?> ValueAsync(IResource parameter) =>
        await Assert.IsType<ParameterResource>(parameter).GetValueAsync(Ct);

    /// <summary>What the resource's environment callbacks put under <paramref name="name"/> (a string, or the
    /// parameter, endpoint or expression that supplies the value when the resource starts).</summary>
    private static async Task<object?> EnvironmentAsync(IResource resource, string name)
    {
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), resource, [], Ct);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return context.EnvironmentVariables.GetValueOrDefault(name);
    }

    private static string FlattenMessages(Exception error) =>
        string.Join(" | ", Enumerate(error).Select(e => e.Message));

    private static IEnumerable<Exception> Enumerate(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
            if (error is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Enumerate))
                {
                    yield return inner;
                }
            }
        }
    }
}
