using System.Globalization;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// The inference server's Deployment for one <see cref="GkeTarget"/>: one pod per GPU node, probes that give model
/// load and CUDA graph capture their time, and a shutdown that drains (preStop pause, then the server's own drain of
/// <c>--exit-timeout-secs</c>, inside <c>terminationGracePeriodSeconds</c>).
/// </summary>
internal static class InferenceDeployment
{
    public const string HttpPortName = "http";
    public const string GrpcPortName = "grpc";
    public const string MetricsPortName = "metrics";
    public const string ReadyPath = "/v2/health/ready";
    public const string LivePath = "/v2/health/live";

    /// <summary>Where the GCS FUSE volume with the model repository is mounted.</summary>
    public const string ModelMountPath = "/models";

    /// <summary>Startup budget: 10 s x 90 = 15 minutes, for a GCS FUSE mount, model load, warmup and CUDA graph capture
    /// of every batch size on a cold node; liveness only starts after it, so a slow load is never killed.</summary>
    public const int StartupPeriodSeconds = 10;
    public const int StartupFailureThreshold = 90;

    public static V1Deployment Build(GkeParameters parameters, GkeWorkload workload, GkeTarget target)
    {
        var app = GkeWorkload.InferenceName;
        var podAnnotations = new Dictionary<string, string>();
        var volumes = new List<V1Volume>
        {
            new() { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },
        };
        var mounts = new List<V1VolumeMount> { new() { Name = "tmp", MountPath = "/tmp" } };
        var env = new List<V1EnvVar> { new() { Name = "DOTNET_ENVIRONMENT", Value = "Production" } };
        var args = new List<string>
        {
            $"--http-port={workload.HttpPort.ToString(CultureInfo.InvariantCulture)}",
            $"--grpc-port={workload.GrpcPort.ToString(CultureInfo.InvariantCulture)}",
            $"--metrics-port={workload.MetricsPort.ToString(CultureInfo.InvariantCulture)}",
            $"--exit-timeout-secs={workload.ExitTimeoutSeconds.ToString(CultureInfo.InvariantCulture)}",
        };
        if (target.HasGpu)
        {
            args.Add($"--model-config-name={workload.GpuConfigName}");
        }
        if (parameters.ModelBucket.Length > 0)
        {
            // Cloud Storage through the GCS FUSE CSI driver (the sidecar GKE injects for this annotation), read-only,
            // as the pod's Kubernetes ServiceAccount (Workload Identity Federation: no key files).
            podAnnotations["gke-gcsfuse/volumes"] = "true";
            volumes.Add(new V1Volume
            {
                Name = "models",
                Csi = new V1CSIVolumeSource
                {
                    Driver = "gcsfuse.csi.storage.gke.io",
                    ReadOnlyProperty = true,
                    VolumeAttributes = new Dictionary<string, string>
                    {
                        ["bucketName"] = parameters.ModelBucket,
                        ["mountOptions"] = "implicit-dirs",
                    },
                },
            });
            mounts.Add(new V1VolumeMount { Name = "models", MountPath = ModelMountPath, ReadOnlyProperty = true });
            args.Add($"--model-repository={ModelMountPath}");
        }
        else
        {
            // No bucket: the server writes its default repository (a generated ResNet-50) into this cache at start.
            volumes.Add(new V1Volume { Name = "cache", EmptyDir = new V1EmptyDirVolumeSource() });
            mounts.Add(new V1VolumeMount { Name = "cache", MountPath = "/cache" });
            env.Add(new V1EnvVar { Name = "ASPIRE_INFERENCE_CACHE", Value = "/cache" });
        }

        var requests = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(target.Cpu),
            ["memory"] = new(target.Memory),
        };
        var limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new(target.Memory) };
        if (target.HasGpu)
        {
            requests["nvidia.com/gpu"] = new("1");
            limits["nvidia.com/gpu"] = new("1");
        }

        var nodeSelector = new Dictionary<string, string>();
        List<V1Toleration>? tolerations = null;
        if (target.HasGpu)
        {
            nodeSelector["cloud.google.com/gke-accelerator"] = target.Accelerator!;
            if (target.Autopilot)
            {
                nodeSelector["cloud.google.com/compute-class"] = "Accelerator";
            }
            else
            {
                // GKE taints GPU nodes; the toleration is added automatically only to pods that request a GPU through
                // the admission plugin, so it is written here for clusters without it.
                tolerations = [new V1Toleration { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" }];
            }
        }

        var container = new V1Container
        {
            Name = "server",
            Image = parameters.Image(GkeWorkload.ServerImageName),
            Args = args,
            Env = env,
            Ports =
            [
                new V1ContainerPort { Name = HttpPortName, ContainerPort = workload.HttpPort, Protocol = "TCP" },
                new V1ContainerPort { Name = GrpcPortName, ContainerPort = workload.GrpcPort, Protocol = "TCP" },
                new V1ContainerPort { Name = MetricsPortName, ContainerPort = workload.MetricsPort, Protocol = "TCP" },
            ],
            Resources = new V1ResourceRequirements { Requests = requests, Limits = limits },
            StartupProbe = Probe(ReadyPath, StartupPeriodSeconds, StartupFailureThreshold),
            LivenessProbe = Probe(LivePath, periodSeconds: 10, failureThreshold: 3),
            ReadinessProbe = Probe(ReadyPath, periodSeconds: 5, failureThreshold: 2),
            Lifecycle = new V1Lifecycle
            {
                PreStop = new V1LifecycleHandler { Sleep = new V1SleepAction { Seconds = GkeWorkload.PreStopSeconds } },
            },
            VolumeMounts = mounts,
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                RunAsNonRoot = true,
                RunAsUser = 1654,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
        };

        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Labels.Metadata(app, parameters.Namespace, app, "server"),
            Spec = new V1DeploymentSpec
            {
                // No replicas: the HorizontalPodAutoscaler owns the count (an applied value would reset it).
                RevisionHistoryLimit = 3,
                Selector = new V1LabelSelector { MatchLabels = Labels.Selector(app) },
                // A new pod needs a free GPU node: surge one, never drop below the serving count.
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = 1, MaxUnavailable = 0 },
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = Labels.Of(app, "server"),
                        Annotations = podAnnotations.Count == 0 ? null : podAnnotations,
                    },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = app,
                        TerminationGracePeriodSeconds = workload.TerminationGracePeriodSeconds,
                        NodeSelector = nodeSelector.Count == 0 ? null : nodeSelector,
                        Tolerations = tolerations,
                        Affinity = target.HasGpu ? OnePodPerNode(app) : null,
                        Containers = [container],
                        Volumes = volumes,
                    },
                },
            },
        };
    }

    /// <summary>One inference pod per GPU node, as the seed runs one Triton per node.</summary>
    private static V1Affinity OnePodPerNode(string app) => new()
    {
        PodAntiAffinity = new V1PodAntiAffinity
        {
            RequiredDuringSchedulingIgnoredDuringExecution =
            [
                new V1PodAffinityTerm
                {
                    TopologyKey = "kubernetes.io/hostname",
                    LabelSelector = new V1LabelSelector { MatchLabels = Labels.Selector(app) },
                },
            ],
        },
    };

    private static V1Probe Probe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = HttpPortName },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        TimeoutSeconds = 3,
    };
}
