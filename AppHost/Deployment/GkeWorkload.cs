namespace AspireInference.AppHost.Deployment;

/// <summary>
/// What the Kubernetes objects take from the AppHost's application model: the inference server's ports (the
/// endpoints' ports, which are Triton's), the model config name its GPU overlays select, and the LoadTest scenario.
/// </summary>
/// <param name="HttpPort">KServe v2 over HTTP (the "http" endpoint).</param>
/// <param name="GrpcPort">KServe v2 over gRPC (the "grpc" endpoint, HTTP/2 cleartext).</param>
/// <param name="MetricsPort">Prometheus metrics (the "metrics" endpoint).</param>
/// <param name="LoadTestMetricsPort">The load generator's own metrics port in the cluster.</param>
/// <param name="GpuConfigName">The server's <c>--model-config-name</c> on GPU nodes.</param>
/// <param name="ExitTimeoutSeconds">The server's <c>--exit-timeout-secs</c>: the longest drain after SIGTERM.</param>
internal sealed record GkeWorkload(
    int HttpPort, int GrpcPort, int MetricsPort, int LoadTestMetricsPort, string GpuConfigName, int ExitTimeoutSeconds)
{
    public const string InferenceName = "inference";
    public const string LoadTestName = "loadtest";
    public const string ServerImageName = "inference-server";
    public const string LoadTestImageName = "loadtest";

    /// <summary>Seconds the pod's preStop hook waits before SIGTERM, so that the load balancer and kube-proxy stop
    /// sending new connections to a pod that is leaving (endpoint removal is asynchronous to the signal).</summary>
    public const int PreStopSeconds = 10;

    /// <summary>Headroom beyond the preStop pause and the drain for the process to close and exit.</summary>
    public const int ExitSlackSeconds = 15;

    /// <summary>terminationGracePeriodSeconds: preStop + drain + slack, so that Kubernetes never kills a drain.</summary>
    public int TerminationGracePeriodSeconds => PreStopSeconds + ExitTimeoutSeconds + ExitSlackSeconds;

    /// <summary>Reads the ports from the inference resource's endpoints in <paramref name="model"/>.</summary>
    public static GkeWorkload From(DistributedApplicationModel model)
    {
        var inference = model.Resources.OfType<ProjectResource>().Single(r => r.Name == InferenceName);
        int Port(string endpoint) =>
            inference.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpoint).Port
            ?? throw new DistributedApplicationException($"The '{InferenceName}' resource's '{endpoint}' endpoint needs a fixed port for the Kubernetes manifests.");
        return new GkeWorkload(Port("http"), Port("grpc"), Port("metrics"), LoadTestMetricsContainerPort, "gpu", 30);
    }

    /// <summary>The load generator's metrics port in its pod (Aspire picks one locally; the cluster needs a fixed one).</summary>
    public const int LoadTestMetricsContainerPort = 9464;
}
