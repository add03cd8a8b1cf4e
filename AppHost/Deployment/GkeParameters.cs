using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace AspireInference.AppHost.Deployment;

/// <summary>
/// The deployment's parameters, read from the Aspire parameters <c>gke-*</c> (<c>--Parameters:gke-project=...</c>,
/// <c>Parameters__gke-project</c>, appsettings or user secrets), each with a default except the project, which only
/// <c>aspire deploy</c> needs. The defaults are what <c>deploy/gke/</c> is published with.
/// </summary>
/// <param name="Project">Google Cloud project id (deploy only; the Managed Prometheus frontend reads it).</param>
/// <param name="Region">Region of the cluster and of the Artifact Registry repository.</param>
/// <param name="Cluster">GKE cluster name (deploy only: named in messages and in the kube context check).</param>
/// <param name="Namespace">Kubernetes namespace everything goes into.</param>
/// <param name="Registry">Image registry (<c>REGION-docker.pkg.dev/PROJECT/REPOSITORY</c>); empty publishes bare image
/// names for kustomize's <c>images:</c> to rewrite.</param>
/// <param name="ImageTag">Tag of the images; deploy replaces it with the tag it built.</param>
/// <param name="Overlay">The overlay <c>aspire deploy</c> applies (one of <see cref="GkeTargets.All"/>).</param>
/// <param name="MinReplicas">HPA minimum: GPU nodes take 4-7 minutes to join, so keep warm capacity here.</param>
/// <param name="MaxReplicas">HPA maximum (at most the GPU node pool's maximum size).</param>
/// <param name="QueueTimeTargetUs">HPA target: average queue time per request, microseconds.</param>
/// <param name="ModelBucket">Cloud Storage bucket holding a Triton model repository, mounted read-only through GCS FUSE;
/// empty serves the generated default repository (ResNet-50).</param>
/// <param name="LoadTestWorkers">Pods of the indexed LoadTest Job (the seed's Locust workers).</param>
/// <param name="TlsSecret">A kubernetes.io/tls Secret in the namespace for an HTTPS listener on the Gateway (gRPC clients
/// outside the cluster need it: Google's front ends speak HTTP/2 only over TLS); empty: HTTP on port 80 only.</param>
internal sealed record GkeParameters(
    string Project, string Region, string Cluster, string Namespace, string Registry, string ImageTag, string Overlay,
    int MinReplicas, int MaxReplicas, int QueueTimeTargetUs, string ModelBucket, int LoadTestWorkers, string TlsSecret)
{
    public const string ProjectName = "gke-project";
    public const string RegionName = "gke-region";
    public const string ClusterName = "gke-cluster";
    public const string NamespaceName = "gke-namespace";
    public const string RegistryName = "gke-registry";
    public const string ImageTagName = "gke-image-tag";
    public const string OverlayName = "gke-overlay";
    public const string MinReplicasName = "gke-min-replicas";
    public const string MaxReplicasName = "gke-max-replicas";
    public const string QueueTimeTargetName = "gke-queue-time-target-us";
    public const string ModelBucketName = "gke-model-bucket";
    public const string LoadTestWorkersName = "gke-loadtest-workers";
    public const string TlsSecretName = "gke-tls-secret";

    /// <summary>Every parameter with its default (empty: none), in the order the README lists them.</summary>
    public static readonly IReadOnlyList<(string Name, string Default)> Defaults =
    [
        (ProjectName, ""), (RegionName, "us-central1"), (ClusterName, "aspire-inference"), (NamespaceName, "aspire-inference"),
        (RegistryName, ""), (ImageTagName, "latest"), (OverlayName, GkeTargets.StandardT4.Name), (MinReplicasName, "1"),
        (MaxReplicasName, "4"), (QueueTimeTargetName, "2000"), (ModelBucketName, ""), (LoadTestWorkersName, "2"), (TlsSecretName, ""),
    ];

    /// <summary>The parameters as configured, checked, with messages that name the key to fix.</summary>
    public static GkeParameters Read(IConfiguration configuration) => Read(name => configuration[$"Parameters:{name}"]);

    public static GkeParameters Read(Func<string, string?> value)
    {
        string Text(string name) => (value(name) ?? Defaults.First(d => d.Name == name).Default).Trim();
        int Number(string name, int min)
        {
            var text = Text(name);
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min)
            {
                throw new DistributedApplicationException($"Parameters:{name} must be a whole number of at least {min} (got '{text}').");
            }
            return n;
        }

        var overlay = Text(OverlayName);
        if (GkeTargets.Find(overlay) is null)
        {
            throw new DistributedApplicationException(
                $"Parameters:{OverlayName} must be one of {string.Join(", ", GkeTargets.All.Select(t => t.Name))} (got '{overlay}').");
        }
        var parameters = new GkeParameters(Text(ProjectName), Text(RegionName), Text(ClusterName), Text(NamespaceName),
            Text(RegistryName).TrimEnd('/'), Text(ImageTagName), overlay, Number(MinReplicasName, 1), Number(MaxReplicasName, 1),
            Number(QueueTimeTargetName, 1), Text(ModelBucketName), Number(LoadTestWorkersName, 1), Text(TlsSecretName));
        if (parameters.MaxReplicas < parameters.MinReplicas)
        {
            throw new DistributedApplicationException(
                $"Parameters:{MaxReplicasName} ({parameters.MaxReplicas}) must be at least Parameters:{MinReplicasName} ({parameters.MinReplicas}).");
        }
        if (!KubernetesName.IsValid(parameters.Namespace))
        {
            throw new DistributedApplicationException($"Parameters:{NamespaceName} must be a Kubernetes name (lower-case letters, digits, '-'; got '{parameters.Namespace}').");
        }
        if (parameters.TlsSecret.Length > 0 && !KubernetesName.IsValid(parameters.TlsSecret))
        {
            throw new DistributedApplicationException($"Parameters:{TlsSecretName} must name a Secret (lower-case letters, digits, '-'; got '{parameters.TlsSecret}').");
        }
        if (parameters.ModelBucket.StartsWith("gs://", StringComparison.Ordinal))
        {
            throw new DistributedApplicationException($"Parameters:{ModelBucketName} is a bucket name without gs:// (got '{parameters.ModelBucket}').");
        }
        return parameters;
    }

    /// <summary>The image reference of <paramref name="name"/>: bare (for kustomize) without a registry.</summary>
    public string Image(string name) => (Registry.Length == 0 ? name : $"{Registry}/{name}") + ":" + ImageTag;
}

/// <summary>RFC 1123 labels, as Kubernetes names most objects.</summary>
internal static class KubernetesName
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 63
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
        && name[0] != '-' && name[^1] != '-';
}
