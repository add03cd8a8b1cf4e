using AspireInference.AppHost.Deployment;

const string InferenceMetricsPort = "Inference__MetricsPort";
const string LoadTestMetricsPort = "LOADTEST_METRICS_PORT";

var builder = DistributedApplication.CreateBuilder(args);

// Parameters, with defaults: how many replicas of the server, and whether its default ResNet-50 runs on the CPU or a GPU.
var parameters = InferenceParameters.Read(builder.Configuration);
builder.AddParameter(InferenceParameters.ReplicasName, parameters.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), publishValueAsDefault: true);
var device = builder.AddParameter(InferenceParameters.DeviceName, parameters.Device, publishValueAsDefault: true);
// Ports on this machine (Triton's 8000-8002, Prometheus 9090, Grafana 3000), each a parameter; one that another
// process holds stops the start with a message naming the parameter.
var ports = AppHostPorts.Read(builder.Configuration);
foreach (var (name, port, _) in ports.All())
{
    builder.AddParameter(name, port.ToString(System.Globalization.CultureInfo.InvariantCulture), publishValueAsDefault: true);
}
builder.Eventing.Subscribe<BeforeStartEvent>((_, _) =>
{
    // With randomized ports (Aspire.Hosting.Testing's default) the proxies take free ports instead of these.
    if (!string.Equals(builder.Configuration["DcpPublisher:RandomizePorts"], "true", StringComparison.OrdinalIgnoreCase))
    {
        ports.ThrowIfInUse();
    }
    return Task.CompletedTask;
});

// The inference server: KServe v2 over HTTP (Triton's 8000) and gRPC (8001), metrics on 8002. Aspire proxies those
// ports to the target ports it hands each replica through Inference__HttpPort / GrpcPort / MetricsPort, alternating
// between replicas. With no model repository configured, the server serves its default ResNet-50; the device is its
// --model-config-name: "gpu" selects resnet50/configs/gpu.pbtxt (KIND_GPU, which fails to load where CUDA cannot be
// used), "cpu" has no configs/cpu.pbtxt and so keeps config.pbtxt (KIND_CPU), as Triton falls back.
var inference = builder.AddProject<Projects.Inference_Server>("inference")
    .WithReplicas(parameters.Replicas)
    .WithEnvironment("Inference__ModelConfigName", device)
    // Production, as deployed: Aspire would hand its own Development environment on.
    .WithEnvironment("DOTNET_ENVIRONMENT", "Production")
    .WithEnvironment("ASPNETCORE_ENVIRONMENT", "Production")
    .WithHttpEndpoint(port: ports.InferenceHttp, name: "http", env: "Inference__HttpPort")
    .WithEndpoint(port: ports.InferenceGrpc, scheme: "http", name: "grpc", env: "Inference__GrpcPort")
    .WithEndpoint("grpc", e => e.Transport = "http2")
    .WithHttpEndpoint(port: ports.InferenceMetrics, name: "metrics", env: InferenceMetricsPort)
    .WithHttpHealthCheck("/v2/health/ready", endpointName: "http");

// The seed's Locust test, started on demand from the dashboard: users sending 224x224 images over gRPC. Its client-side
// metrics (Meter "LoadTest") reach the dashboard over OTLP and Prometheus on the "metrics" endpoint.
var loadTest = builder.AddProject<Projects.LoadTest>("loadtest")
    .WithArgs(LoadTestScenario.Arguments(inference.GetEndpoint("grpc")))
    .WithHttpEndpoint(name: "metrics", env: LoadTestMetricsPort)
    .WithEnvironment("DOTNET_ENVIRONMENT", "Production")
    .WithExplicitStart()
    .WaitFor(inference);

// Prometheus (a container where a runtime answers, else Debian's executable) scraping every replica's metrics port,
// and Grafana (container) with the repo's dashboard.
builder.AddMonitoring(ports.Prometheus, ports.Grafana,
    new ScrapeJob("inference", inference.GetEndpoint("metrics"), InferenceMetricsPort),
    new ScrapeJob("loadtest", loadTest.GetEndpoint("metrics"), LoadTestMetricsPort));

// The GKE deployment: `aspire publish` writes deploy/gke (Kubernetes YAML, kustomize), `aspire deploy` applies it.
builder.AddGkeDeployment();

try
{
    builder.Build().Run();
}
catch (Exception e) when (ProcessExit.IsAppHostProcess
    && (e is AggregateException { InnerExceptions: [var inner] } ? inner : e) is DistributedApplicationException start)
{
    // A start that cannot go ahead (a port in use, a bad parameter) is a message and exit code 1, not a crash dump.
    Console.Error.WriteLine($"error: {start.Message}");
    ProcessExit.Fail();
}
