using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Resources;

// Gateway API (gateway.networking.k8s.io/v1) as far as the GKE Gateway controller reads it here; fields keep the API's
// names, so the strict loader in the tests rejects a misspelt one.

/// <summary>A Gateway: GKE provisions a Cloud Load Balancer for it from its class.</summary>
public sealed class Gateway : IKubernetesObject<V1ObjectMeta>
{
    public const string GroupVersion = "gateway.networking.k8s.io/v1";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "Gateway";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public GatewaySpec Spec { get; set; } = new();
}

public sealed class GatewaySpec
{
    [JsonPropertyName("gatewayClassName")] public string GatewayClassName { get; set; } = "";
    [JsonPropertyName("listeners")] public List<GatewayListener> Listeners { get; set; } = [];
}

public sealed class GatewayListener
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("protocol")] public string Protocol { get; set; } = "HTTP";
    [JsonPropertyName("port")] public int Port { get; set; }
    [JsonPropertyName("tls")] public GatewayTls? Tls { get; set; }
}

public sealed class GatewayTls
{
    [JsonPropertyName("mode")] public string Mode { get; set; } = "Terminate";
    [JsonPropertyName("certificateRefs")] public List<ObjectReference> CertificateRefs { get; set; } = [];
}

/// <summary>An HTTPRoute: path matches to Service ports behind a Gateway.</summary>
public sealed class HttpRoute : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = Gateway.GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "HTTPRoute";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public HttpRouteSpec Spec { get; set; } = new();
}

public sealed class HttpRouteSpec
{
    [JsonPropertyName("parentRefs")] public List<ObjectReference> ParentRefs { get; set; } = [];
    [JsonPropertyName("rules")] public List<HttpRouteRule> Rules { get; set; } = [];
}

public sealed class HttpRouteRule
{
    [JsonPropertyName("matches")] public List<HttpRouteMatch> Matches { get; set; } = [];
    [JsonPropertyName("backendRefs")] public List<BackendRef> BackendRefs { get; set; } = [];
}

public sealed class HttpRouteMatch
{
    [JsonPropertyName("path")] public HttpPathMatch Path { get; set; } = new();
}

public sealed class HttpPathMatch
{
    [JsonPropertyName("type")] public string Type { get; set; } = "PathPrefix";
    [JsonPropertyName("value")] public string Value { get; set; } = "/";
}

public sealed class BackendRef
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("port")] public int Port { get; set; }
}

/// <summary>A reference by name (and optionally group and kind), as Gateway API and GKE's policies write it.</summary>
public sealed class ObjectReference
{
    [JsonPropertyName("group")] public string? Group { get; set; }
    [JsonPropertyName("kind")] public string? Kind { get; set; }
    [JsonPropertyName("name")] public string Name { get; set; } = "";
}
