using Aspire.Hosting;
using Aspire.Hosting.Testing;
using AspireInference.AppHost.Deployment;
using AspireInference.AppHost.Deployment.Resources;
using k8s;
using k8s.Models;

namespace Inference.Tests.AppHost.Deployment;

/// <summary>Runs the AppHost's pipeline steps through Aspire.Hosting.Testing and reads what they wrote.</summary>
internal static class GkePublish
{
    public static string CheckedInFolder => Path.Combine(AppHostModelTests.RepositoryRoot, "deploy", "gke");

    /// <summary>Neither reads nor writes Aspire's deployment state (~/.aspire/deployments), which would carry parameter
    /// values from one run, or one machine's earlier deploys, into the next.</summary>
    public const string ClearCache = "--Pipeline:ClearCache=true";

    /// <summary>Runs <paramref name="step"/> with its output in <paramref name="outputDirectory"/>; throws what the step threw.</summary>
    public static async Task RunStepAsync(string step, string outputDirectory, string[] extraArgs, CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--operation", "publish", "--step", step, "--output-path", outputDirectory, ClearCache, .. extraArgs], cancellationToken);
        await using var app = await builder.BuildAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await app.RunAsync(timeout.Token);
    }

    /// <summary>Relative path ('/') to content of every file under <paramref name="folder"/>.</summary>
    public static SortedDictionary<string, string> Files(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText), StringComparer.Ordinal);

    /// <summary>Every apiVersion/kind the layout may hold, Kubernetes' own and the custom resources, for the strict loader.</summary>
    public static readonly Dictionary<string, Type> Types = new()
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["v1/Service"] = typeof(V1Service),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["batch/v1/Job"] = typeof(V1Job),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["gateway.networking.k8s.io/v1/Gateway"] = typeof(Gateway),
        ["gateway.networking.k8s.io/v1/HTTPRoute"] = typeof(HttpRoute),
        ["networking.gke.io/v1/HealthCheckPolicy"] = typeof(HealthCheckPolicy),
        ["networking.gke.io/v1/GCPBackendPolicy"] = typeof(GcpBackendPolicy),
        ["monitoring.googleapis.com/v1/PodMonitoring"] = typeof(PodMonitoring),
        ["monitoring.googleapis.com/v1/Rules"] = typeof(Rules),
    };

    /// <summary>The objects a kustomization folder renders to: its resources, recursively (the layout uses nothing
    /// but <c>resources:</c>, which the loader rejects otherwise), each file loaded strictly.</summary>
    public static List<object> Render(string folder)
    {
        var kustomizationText = File.ReadAllText(Path.Combine(folder, GkeManifests.KustomizationFile));
        var kustomization = KubernetesYaml.Deserialize<Kustomization>(kustomizationText, strict: true);
        Assert.Equal("kustomize.config.k8s.io/v1beta1", kustomization.ApiVersion);
        var objects = new List<object>();
        foreach (var resource in kustomization.Resources)
        {
            var path = Path.GetFullPath(Path.Combine(folder, resource));
            if (Directory.Exists(path))
            {
                objects.AddRange(Render(path));
            }
            else
            {
                objects.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(path), Types, strict: true));
            }
        }
        return objects;
    }
}
