var builder = DistributedApplication.CreateBuilder(args);

// The inference server: KServe v2 over HTTP (Triton's 8000) and gRPC (8001), serving the embedded default
// repository (a generated ResNet-50 on CPU) unless a model repository is given.
var inference = builder.AddProject<Projects.Inference_Server>("inference")
    .WithEndpoint("http", e => e.Port = 8000)
    .WithEndpoint("grpc", e => { e.Port = 8001; e.UriScheme = "http"; e.Transport = "http2"; })
    .WithHttpHealthCheck("/v2/health/ready");

builder.Build().Run();
