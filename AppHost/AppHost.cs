using AspireInference.AppHost.Deployment;

const string InferenceMetricsPort = "Inference__MetricsPort";
const string LoadTestMetricsPort = "LOADTEST_METRICS_PORT";

var builder = DistributedApplication.CreateBuilder(args);

// Parameters, with defaults: how many replicas of the server, and whether its default ResNet-50 runs on the CPU or a GPU.
var parameters = InferenceParameters.Read(builder.Configuration);
builder.AddParameter(InferenceParameters.ReplicasName, parameters.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture), publishValueAsDefault: true);
var device = builder.AddParameter(InferenceParameters.DeviceName, parameters.Device, publishValueAsDefault: true);

// The inference server: KServe v2 over HTTP (Triton's 8000) and gRPC (8001), metrics on 8002. Aspire proxies those
// ports to the target ports it hands each replica through Inference__HttpPort / GrpcPort / MetricsPort, alternating
// between replicas. With no model repository configured, the server serves its default ResNet-50; the device is its
// --model-config-name: "gpu" selects resnet50/configs/gpu.pbtxt (KIND_GPU, which fails to load where CUDA cannot be
// used), "cpu" has no configs/cpu.pbtxt and so keeps config.pbtxt (KIND_CPU), as Triton falls back.
var inference = builder.AddProject<Projects.Inference_Server>("inference")
    .WithReplicas(parameters.Replicas)
    .WithEnvironment("Inference__ModelConfigName", device)
    .WithHttpEndpoint(port: 8000, name: "http", env: "Inference__HttpPort")
    .WithEndpoint(port: 8001, scheme: "http", name: "grpc", env: "Inference__GrpcPort")
    .WithEndpoint("grpc", e => e.Transport = "http2")
    .WithHttpEndpoint(port: 8002, name: "metrics", env: InferenceMetricsPort)
    .WithHttpHealthCheck("/v2/health/ready", endpointName: "http");

// The seed's Locust test, started on demand from the dashboard: users sending 224x224 images over gRPC. Its client-side
// metrics (Meter "LoadTest") reach the dashboard over OTLP and Prometheus on the "metrics" endpoint.
var loadTest = builder.AddProject<Projects.LoadTest>("loadtest")
    .WithArgs(LoadTestScenario.Arguments(inference.GetEndpoint("grpc")))
    .WithHttpEndpoint(name: "metrics", env: LoadTestMetricsPort)
    .WithExplicitStart()
    .WaitFor(inference);

// Prometheus (a container where a runtime answers, else Debian's executable) scraping every replica's metrics port,
// and Grafana (container) with the repo's dashboard.
builder.AddMonitoring(
    new ScrapeJob("inference", inference.GetEndpoint("metrics"), InferenceMetricsPort),
    new ScrapeJob("loadtest", loadTest.GetEndpoint("metrics"), LoadTestMetricsPort));

// The GKE deployment: `aspire publish` writes deploy/gke (Kubernetes YAML, kustomize), `aspire deploy` applies it.
builder.AddGkeDeployment();

builder.Build().Run();
