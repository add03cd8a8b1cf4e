using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Resources;

// GKE's Gateway policies (networking.gke.io/v1), attached to a Service.

/// <summary>The load balancer's health check for a Service's backends: without it GKE probes "/" on the serving port,
/// which the server answers 404, and the gRPC port (HTTP/2 only) not at all.</summary>
public sealed class HealthCheckPolicy : IKubernetesObject<V1ObjectMeta>
{
    public const string GroupVersion = "networking.gke.io/v1";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "HealthCheckPolicy";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public HealthCheckPolicySpec Spec { get; set; } = new();
}

public sealed class HealthCheckPolicySpec
{
    [JsonPropertyName("default")] public HealthCheckDefaults Default { get; set; } = new();
    [JsonPropertyName("targetRef")] public ObjectReference TargetRef { get; set; } = new();
}

public sealed class HealthCheckDefaults
{
    [JsonPropertyName("checkIntervalSec")] public int CheckIntervalSec { get; set; }
    [JsonPropertyName("timeoutSec")] public int TimeoutSec { get; set; }
    [JsonPropertyName("healthyThreshold")] public int HealthyThreshold { get; set; }
    [JsonPropertyName("unhealthyThreshold")] public int UnhealthyThreshold { get; set; }
    [JsonPropertyName("config")] public HealthCheckConfig Config { get; set; } = new();
}

public sealed class HealthCheckConfig
{
    [JsonPropertyName("type")] public string Type { get; set; } = "HTTP";
    [JsonPropertyName("httpHealthCheck")] public HttpHealthCheck HttpHealthCheck { get; set; } = new();
}

public sealed class HttpHealthCheck
{
    [JsonPropertyName("portSpecification")] public string PortSpecification { get; set; } = "USE_FIXED_PORT";
    [JsonPropertyName("port")] public int Port { get; set; }
    [JsonPropertyName("requestPath")] public string RequestPath { get; set; } = "/";
}

/// <summary>Backend settings of the load balancer for a Service: the request timeout (gRPC streams live long) and
/// connection draining (how long a backend leaving the NEG keeps its connections, matched to the server's drain).</summary>
public sealed class GcpBackendPolicy : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = HealthCheckPolicy.GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "GCPBackendPolicy";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public GcpBackendPolicySpec Spec { get; set; } = new();
}

public sealed class GcpBackendPolicySpec
{
    [JsonPropertyName("default")] public GcpBackendDefaults Default { get; set; } = new();
    [JsonPropertyName("targetRef")] public ObjectReference TargetRef { get; set; } = new();
}

public sealed class GcpBackendDefaults
{
    [JsonPropertyName("timeoutSec")] public int TimeoutSec { get; set; }
    [JsonPropertyName("connectionDraining")] public ConnectionDraining ConnectionDraining { get; set; } = new();
}

public sealed class ConnectionDraining
{
    [JsonPropertyName("drainingTimeoutSec")] public int DrainingTimeoutSec { get; set; }
}
