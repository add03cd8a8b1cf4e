var builder = DistributedApplication.CreateBuilder(args);

// The inference server: KServe v2 over HTTP (Triton's 8000) and gRPC (8001). Aspire proxies those ports to
// the target ports it hands the server through Inference__HttpPort / Inference__GrpcPort. With no model
// repository configured, the server generates and serves its default ResNet-50 on CPU.
var inference = builder.AddProject<Projects.Inference_Server>("inference")
    .WithHttpEndpoint(port: 8000, name: "http", env: "Inference__HttpPort")
    .WithEndpoint(port: 8001, scheme: "http", name: "grpc", env: "Inference__GrpcPort")
    .WithEndpoint("grpc", e => e.Transport = "http2")
    .WithHttpEndpoint(port: 8002, name: "metrics", env: "Inference__MetricsPort")
    .WithHttpHealthCheck("/v2/health/ready", endpointName: "http");

// Prometheus (Debian's executable) scraping the metrics port, and Grafana (container) with the repo's dashboard.
builder.AddMonitoring(new Dictionary<string, EndpointReference[]> { ["inference"] = [inference.GetEndpoint("metrics")] });

// The seed's Locust test, started on demand from the dashboard: users sending 224x224 images over gRPC. Its client-side
// metrics (Meter "LoadTest") reach the dashboard over OTLP and Prometheus on the "metrics" endpoint.
builder.AddProject<Projects.LoadTest>("loadtest")
    .WithArgs("scenario", "--url", inference.GetEndpoint("grpc"), "-m", "resnet50", "--users", "10", "--spawn-rate", "1",
        "--think", "0.8:1.2", "--duration", "600", "--max-error-rate", "0.01")
    .WithHttpEndpoint(name: "metrics", env: "LOADTEST_METRICS_PORT")
    .WithExplicitStart()
    .WaitFor(inference);

builder.Build().Run();
