using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Resources;

// Google Cloud Managed Service for Prometheus (monitoring.googleapis.com/v1): scrape configuration and rules that
// its managed collectors and rule evaluator read.

/// <summary>Scrapes the pods its selector matches on the named container port.</summary>
public sealed class PodMonitoring : IKubernetesObject<V1ObjectMeta>
{
    public const string GroupVersion = "monitoring.googleapis.com/v1";

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "PodMonitoring";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public PodMonitoringSpec Spec { get; set; } = new();
}

public sealed class PodMonitoringSpec
{
    [JsonPropertyName("selector")] public V1LabelSelector Selector { get; set; } = new();
    [JsonPropertyName("endpoints")] public List<ScrapeEndpoint> Endpoints { get; set; } = [];
}

public sealed class ScrapeEndpoint
{
    [JsonPropertyName("port")] public string Port { get; set; } = "";
    [JsonPropertyName("path")] public string? Path { get; set; }
    [JsonPropertyName("interval")] public string Interval { get; set; } = "30s";
}

/// <summary>Recording and alerting rules evaluated by the managed rule evaluator over the namespace's metrics.</summary>
public sealed class Rules : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = PodMonitoring.GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "Rules";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public RulesSpec Spec { get; set; } = new();
}

public sealed class RulesSpec
{
    [JsonPropertyName("groups")] public List<RuleGroup> Groups { get; set; } = [];
}

public sealed class RuleGroup
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("interval")] public string Interval { get; set; } = "30s";
    [JsonPropertyName("rules")] public List<Rule> Rules { get; set; } = [];
}

public sealed class Rule
{
    [JsonPropertyName("record")] public string? Record { get; set; }
    [JsonPropertyName("alert")] public string? Alert { get; set; }
    [JsonPropertyName("expr")] public string Expr { get; set; } = "";
    [JsonPropertyName("for")] public string? For { get; set; }
    [JsonPropertyName("labels")] public IDictionary<string, string>? Labels { get; set; }
    [JsonPropertyName("annotations")] public IDictionary<string, string>? Annotations { get; set; }
}
