using AspireInference.AppHost.Deployment.Resources;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// How clients reach the servers: a ClusterIP Service (HTTP, gRPC as HTTP/2 cleartext, metrics) for clients in the
/// cluster, and a GKE Gateway (Cloud Load Balancing, global external Application Load Balancer) in front of it.
/// Gateway API rather than Ingress: it is GKE's current API for the Google load balancers, routes HTTP and gRPC by
/// path over one address, and takes the backend protocol from the Service port's <c>appProtocol</c>
/// (<c>kubernetes.io/h2c</c> for gRPC) and health checks and timeouts from policies attached to the Service.
/// </summary>
internal static class InferenceNetwork
{
    /// <summary>Every gRPC method of Triton's <c>inference.GRPCInferenceService</c> is a POST under this path.</summary>
    public const string GrpcPathPrefix = "/inference.GRPCInferenceService/";
    public const string GatewayClass = "gke-l7-global-external-managed";

    /// <summary>Longest request or stream through the load balancer (ModelStreamInfer streams stay open).</summary>
    public const int BackendTimeoutSeconds = 3600;

    public static V1Service Service(GkeParameters parameters, GkeWorkload workload)
    {
        var app = GkeWorkload.InferenceName;
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Labels.Metadata(app, parameters.Namespace, app, "server"),
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = Labels.Selector(app),
                Ports =
                [
                    new V1ServicePort { Name = InferenceDeployment.HttpPortName, Port = workload.HttpPort, TargetPort = InferenceDeployment.HttpPortName, Protocol = "TCP", AppProtocol = "http" },
                    new V1ServicePort { Name = InferenceDeployment.GrpcPortName, Port = workload.GrpcPort, TargetPort = InferenceDeployment.GrpcPortName, Protocol = "TCP", AppProtocol = "kubernetes.io/h2c" },
                    new V1ServicePort { Name = InferenceDeployment.MetricsPortName, Port = workload.MetricsPort, TargetPort = InferenceDeployment.MetricsPortName, Protocol = "TCP", AppProtocol = "http" },
                ],
            },
        };
    }

    public static Gateway Gateway(GkeParameters parameters) => new()
    {
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "gateway"),
        Spec = new GatewaySpec
        {
            GatewayClassName = GatewayClass,
            Listeners = parameters.TlsSecret.Length == 0
                ? [new GatewayListener { Name = "http", Protocol = "HTTP", Port = 80 }]
                :
                [
                    new GatewayListener { Name = "http", Protocol = "HTTP", Port = 80 },
                    new GatewayListener
                    {
                        Name = "https",
                        Protocol = "HTTPS",
                        Port = 443,
                        Tls = new GatewayTls { Mode = "Terminate", CertificateRefs = [new ObjectReference { Group = "", Kind = "Secret", Name = parameters.TlsSecret }] },
                    },
                ],
        },
    };

    /// <summary>gRPC methods to the gRPC port, everything else (KServe v2 HTTP) to the HTTP port. The metrics port is
    /// not exposed outside the cluster.</summary>
    public static HttpRoute Route(GkeParameters parameters, GkeWorkload workload) => new()
    {
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "gateway"),
        Spec = new HttpRouteSpec
        {
            ParentRefs = [new ObjectReference { Name = GkeWorkload.InferenceName }],
            Rules =
            [
                new HttpRouteRule
                {
                    Matches = [new HttpRouteMatch { Path = new HttpPathMatch { Type = "PathPrefix", Value = GrpcPathPrefix } }],
                    BackendRefs = [new BackendRef { Name = GkeWorkload.InferenceName, Port = workload.GrpcPort }],
                },
                new HttpRouteRule
                {
                    Matches = [new HttpRouteMatch { Path = new HttpPathMatch { Type = "PathPrefix", Value = "/v2" } }],
                    BackendRefs = [new BackendRef { Name = GkeWorkload.InferenceName, Port = workload.HttpPort }],
                },
            ],
        },
    };

    /// <summary>The load balancer checks every backend (the gRPC port's too) on the HTTP port's readiness, so a
    /// draining or loading pod leaves both at once.</summary>
    public static HealthCheckPolicy HealthCheck(GkeParameters parameters, GkeWorkload workload) => new()
    {
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "gateway"),
        Spec = new HealthCheckPolicySpec
        {
            Default = new HealthCheckDefaults
            {
                CheckIntervalSec = 5,
                TimeoutSec = 3,
                HealthyThreshold = 1,
                UnhealthyThreshold = 2,
                Config = new HealthCheckConfig
                {
                    Type = "HTTP",
                    HttpHealthCheck = new HttpHealthCheck { PortSpecification = "USE_FIXED_PORT", Port = workload.HttpPort, RequestPath = InferenceDeployment.ReadyPath },
                },
            },
            TargetRef = new ObjectReference { Group = "", Kind = "Service", Name = GkeWorkload.InferenceName },
        },
    };

    public static GcpBackendPolicy Backend(GkeParameters parameters, GkeWorkload workload) => new()
    {
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "gateway"),
        Spec = new GcpBackendPolicySpec
        {
            Default = new GcpBackendDefaults
            {
                TimeoutSec = BackendTimeoutSeconds,
                ConnectionDraining = new ConnectionDraining { DrainingTimeoutSec = workload.ExitTimeoutSeconds },
            },
            TargetRef = new ObjectReference { Group = "", Kind = "Service", Name = GkeWorkload.InferenceName },
        },
    };
}
