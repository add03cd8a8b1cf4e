using System.Text.Json.Serialization;
using AspireInference.AppHost.Deployment.Resources;
using k8s;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// Google Cloud Managed Service for Prometheus: PodMonitoring for the servers' metrics port and the load generator's,
/// and the repository's recording and alert rules (monitoring/prometheus/rules/*.yml) as a Rules resource, so the
/// cluster computes the same series the local Prometheus does.
/// </summary>
internal static class ManagedMonitoring
{
    /// <summary>The local Prometheus scrapes every 5 s; 15 s is Managed Prometheus's cheaper floor for a fleet.</summary>
    public const string ScrapeInterval = "15s";

    public static PodMonitoring Inference(GkeParameters parameters) => Monitor(parameters, GkeWorkload.InferenceName, InferenceDeployment.MetricsPortName);

    public static PodMonitoring LoadTest(GkeParameters parameters) => Monitor(parameters, GkeWorkload.LoadTestName, LoadTestJob.MetricsPortName);

    private static PodMonitoring Monitor(GkeParameters parameters, string app, string port) => new()
    {
        Metadata = Labels.Metadata(app, parameters.Namespace, app, "monitoring"),
        Spec = new PodMonitoringSpec
        {
            Selector = new V1LabelSelector { MatchLabels = Labels.Selector(app) },
            Endpoints = [new ScrapeEndpoint { Port = port, Path = "/metrics", Interval = ScrapeInterval }],
        },
    };

    /// <summary>Every group of every rule file in <paramref name="rulesDirectory"/>, in file-name order.</summary>
    public static Rules Rules(GkeParameters parameters, string rulesDirectory)
    {
        var groups = new List<RuleGroup>();
        foreach (var file in Directory.GetFiles(rulesDirectory, "*.yml").Order(StringComparer.Ordinal))
        {
            var parsed = KubernetesYaml.Deserialize<PrometheusRuleFile>(File.ReadAllText(file));
            foreach (var group in parsed.Groups)
            {
                groups.Add(new RuleGroup
                {
                    Name = group.Name,
                    Interval = "30s",
                    Rules = [.. group.Rules.Select(r => new Rule
                    {
                        Record = r.Record, Alert = r.Alert, Expr = r.Expr.Trim(), For = r.For,
                        Labels = Sorted(r.Labels), Annotations = Sorted(r.Annotations),
                    })],
                });
            }
        }
        return new Rules
        {
            Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "monitoring"),
            Spec = new RulesSpec { Groups = groups },
        };
    }

    private static SortedDictionary<string, string>? Sorted(Dictionary<string, string>? values) =>
        values is null ? null : new SortedDictionary<string, string>(values.ToDictionary(kv => kv.Key, kv => kv.Value.Trim()), StringComparer.Ordinal);

    /// <summary>A Prometheus rule file, as far as the rules read it.</summary>
    private sealed class PrometheusRuleFile
    {
        [JsonPropertyName("groups")] public List<PrometheusRuleGroup> Groups { get; set; } = [];
    }

    private sealed class PrometheusRuleGroup
    {
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("rules")] public List<PrometheusRule> Rules { get; set; } = [];
    }

    private sealed class PrometheusRule
    {
        [JsonPropertyName("record")] public string? Record { get; set; }
        [JsonPropertyName("alert")] public string? Alert { get; set; }
        [JsonPropertyName("expr")] public string Expr { get; set; } = "";
        [JsonPropertyName("for")] public string? For { get; set; }
        [JsonPropertyName("labels")] public Dictionary<string, string>? Labels { get; set; }
        [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
    }
}
