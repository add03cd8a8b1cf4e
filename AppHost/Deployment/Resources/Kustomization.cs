using System.Text.Json.Serialization;

namespace AspireInference.AppHost.Deployment.Resources;

/// <summary>A kustomization.yaml, with the fields the layout uses (resources only: every object carries its namespace,
/// so <c>kubectl apply -f</c> on a folder works as well as <c>kubectl apply -k</c>).</summary>
public sealed class Kustomization
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "kustomize.config.k8s.io/v1beta1";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "Kustomization";
    [JsonPropertyName("resources")] public List<string> Resources { get; set; } = [];
}
