using System.Globalization;
using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// The seed's Locust in the cluster: an indexed Job of <see cref="GkeParameters.LoadTestWorkers"/> pods, each running
/// <see cref="LoadTestScenario"/> against the inference Service over gRPC (inside the cluster, so the load balancer is
/// not what is measured). A pod's exit code is its objectives' verdict, so the Job fails when one worker's error rate
/// exceeds the scenario's bound. Kept out of the base: applying the system does not start a load test.
/// </summary>
internal static class LoadTestJob
{
    public const string MetricsPortName = "metrics";

    public static V1Job Build(GkeParameters parameters, GkeWorkload workload)
    {
        var app = GkeWorkload.LoadTestName;
        var url = $"http://{GkeWorkload.InferenceName}.{parameters.Namespace}.svc.cluster.local:{workload.GrpcPort.ToString(CultureInfo.InvariantCulture)}";
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = Labels.Metadata(app, parameters.Namespace, app, "load-generator"),
            Spec = new V1JobSpec
            {
                CompletionMode = "Indexed",
                Completions = parameters.LoadTestWorkers,
                Parallelism = parameters.LoadTestWorkers,
                BackoffLimit = 0,
                TtlSecondsAfterFinished = 86400,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = Labels.Of(app, "load-generator") },
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        Containers =
                        [
                            new V1Container
                            {
                                Name = app,
                                Image = parameters.Image(GkeWorkload.LoadTestImageName),
                                Args = [.. LoadTestScenario.Arguments(url).Select(a => (string)a)],
                                Env =
                                [
                                    new V1EnvVar { Name = "LOADTEST_METRICS_PORT", Value = workload.LoadTestMetricsPort.ToString(CultureInfo.InvariantCulture) },
                                    new V1EnvVar { Name = "DOTNET_ENVIRONMENT", Value = "Production" },
                                ],
                                Ports = [new V1ContainerPort { Name = MetricsPortName, ContainerPort = workload.LoadTestMetricsPort, Protocol = "TCP" }],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1"), ["memory"] = new("1Gi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("1Gi") },
                                },
                                SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false, RunAsNonRoot = true, RunAsUser = 1654 },
                            },
                        ],
                    },
                },
            },
        };
    }
}
