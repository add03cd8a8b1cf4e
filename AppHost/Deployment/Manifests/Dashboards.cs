using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// Grafana in the cluster with the repository's dashboard (monitoring/grafana) from ConfigMaps, reading Managed
/// Prometheus through Google's Prometheus frontend (a Prometheus query API over Cloud Monitoring, authenticated as its
/// Kubernetes ServiceAccount). Grafana rather than only Cloud Monitoring's own pages: the dashboard users already run
/// locally works unchanged, PromQL and all.
/// </summary>
internal static class Dashboards
{
    public const string FrontendName = "prometheus-frontend";
    public const string GrafanaName = "grafana";
    public const string FrontendImage = "gke.gcr.io/prometheus-engine/frontend:v0.15.3-gke.0";
    public const string GrafanaImage = "grafana/grafana:11.4.0";
    public const int FrontendPort = 9090;
    public const int GrafanaPort = 3000;

    /// <summary>The ConfigMap holding the deployment's values that pods read (the project the frontend queries).</summary>
    public const string ParametersConfigMap = "gke-parameters";

    public static IEnumerable<object> Build(GkeParameters parameters, string monitoringDirectory)
    {
        var ns = parameters.Namespace;
        yield return new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = Labels.Metadata(FrontendName, ns, FrontendName, "monitoring"),
        };
        yield return Deployment(ns, FrontendName, new V1Container
        {
            Name = "frontend",
            Image = FrontendImage,
            Args = [$"--web.listen-address=:{FrontendPort}", "--query.project-id=$(PROJECT_ID)"],
            Env = [new V1EnvVar { Name = "PROJECT_ID", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = ParametersConfigMap, Key = "project" } } }],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = FrontendPort, Protocol = "TCP" }],
            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/-/ready", Port = "http" } },
            LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/-/healthy", Port = "http" } },
            Resources = Resources("100m", "128Mi"),
        }, serviceAccount: FrontendName, volumes: null);
        yield return Service(ns, FrontendName, FrontendPort);

        var grafanaDirectory = Path.Combine(monitoringDirectory, "grafana");
        yield return ConfigMap(ns, "grafana-datasources", Path.Combine(grafanaDirectory, "provisioning", "datasources"));
        yield return ConfigMap(ns, "grafana-dashboard-providers", Path.Combine(grafanaDirectory, "provisioning", "dashboards"));
        yield return ConfigMap(ns, "grafana-dashboards", Path.Combine(grafanaDirectory, "dashboards"));
        yield return Deployment(ns, GrafanaName, new V1Container
        {
            Name = "grafana",
            Image = GrafanaImage,
            Env =
            [
                new V1EnvVar { Name = "PROMETHEUS_URL", Value = $"http://{FrontendName}:{FrontendPort}" },
                new V1EnvVar { Name = "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", Value = "/var/lib/grafana/dashboards/inference.json" },
            ],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = GrafanaPort, Protocol = "TCP" }],
            ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/api/health", Port = "http" } },
            VolumeMounts =
            [
                new V1VolumeMount { Name = "datasources", MountPath = "/etc/grafana/provisioning/datasources", ReadOnlyProperty = true },
                new V1VolumeMount { Name = "dashboard-providers", MountPath = "/etc/grafana/provisioning/dashboards", ReadOnlyProperty = true },
                new V1VolumeMount { Name = "dashboards", MountPath = "/var/lib/grafana/dashboards", ReadOnlyProperty = true },
            ],
            Resources = Resources("100m", "256Mi"),
        }, serviceAccount: null, volumes:
        [
            new V1Volume { Name = "datasources", ConfigMap = new V1ConfigMapVolumeSource { Name = "grafana-datasources" } },
            new V1Volume { Name = "dashboard-providers", ConfigMap = new V1ConfigMapVolumeSource { Name = "grafana-dashboard-providers" } },
            new V1Volume { Name = "dashboards", ConfigMap = new V1ConfigMapVolumeSource { Name = "grafana-dashboards" } },
        ]);
        yield return Service(ns, GrafanaName, GrafanaPort);
    }

    /// <summary>The values pods read from the deployment's parameters.</summary>
    public static V1ConfigMap Parameters(GkeParameters parameters) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Labels.Metadata(ParametersConfigMap, parameters.Namespace, GkeWorkload.InferenceName, "parameters"),
        Data = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["project"] = parameters.Project },
    };

    private static V1ConfigMap ConfigMap(string ns, string name, string directory) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Labels.Metadata(name, ns, GrafanaName, "monitoring"),
        Data = new SortedDictionary<string, string>(
            Directory.GetFiles(directory).Order(StringComparer.Ordinal)
                .ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).ReplaceLineEndings("\n")), StringComparer.Ordinal),
    };

    private static V1Deployment Deployment(string ns, string app, V1Container container, string? serviceAccount, List<V1Volume>? volumes) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = Labels.Metadata(app, ns, app, "monitoring"),
        Spec = new V1DeploymentSpec
        {
            Replicas = 1,
            Selector = new V1LabelSelector { MatchLabels = Labels.Selector(app) },
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = Labels.Of(app, "monitoring") },
                Spec = new V1PodSpec
                {
                    ServiceAccountName = serviceAccount,
                    NodeSelector = new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" },
                    Containers = [container],
                    Volumes = volumes,
                },
            },
        },
    };

    private static V1Service Service(string ns, string app, int port) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Labels.Metadata(app, ns, app, "monitoring"),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = Labels.Selector(app),
            Ports = [new V1ServicePort { Name = "http", Port = port, TargetPort = "http", Protocol = "TCP" }],
        },
    };

    private static V1ResourceRequirements Resources(string cpu, string memory) => new()
    {
        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new(memory) },
        Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new(memory) },
    };
}
