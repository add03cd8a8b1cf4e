using k8s.Models;

namespace AspireInference.AppHost.Deployment.Manifests;

/// <summary>
/// Scaling with the clients: a HorizontalPodAutoscaler (autoscaling/v2) on the average queue time per request, which
/// grows when the GPUs of the running pods cannot keep up, whatever the request mix; and a PodDisruptionBudget.
/// The metric is the server's gauge <c>nv_inference_queue_duration_avg_us</c> (a 30 s window of Triton's
/// <c>nv_inference_queue_duration_us / nv_inference_request_success</c>) scraped by Managed Service for Prometheus and
/// served to the HPA by the Custom Metrics Stackdriver Adapter, under the name that adapter gives Prometheus metrics.
/// A gauge, not the counter: the adapter hands a Pods metric to the HPA as it is stored, and a counter would scale on
/// its running total.
/// </summary>
internal static class InferenceAutoscaling
{
    public const string QueueTimeMetric = "nv_inference_queue_duration_avg_us";
    public const string AdapterMetricName = "prometheus.googleapis.com|" + QueueTimeMetric + "|gauge";

    /// <summary>The model whose queue time drives scaling (the metric has one series per model and version).</summary>
    public const string ScaledModel = LoadTestScenario.Model;

    public static V2HorizontalPodAutoscaler Autoscaler(GkeParameters parameters) => new()
    {
        ApiVersion = "autoscaling/v2",
        Kind = "HorizontalPodAutoscaler",
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "autoscaling"),
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = GkeWorkload.InferenceName },
            MinReplicas = parameters.MinReplicas,
            MaxReplicas = parameters.MaxReplicas,
            Metrics =
            [
                new V2MetricSpec
                {
                    Type = "Pods",
                    Pods = new V2PodsMetricSource
                    {
                        Metric = new V2MetricIdentifier
                        {
                            Name = AdapterMetricName,
                            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["metric.labels.model"] = ScaledModel } },
                        },
                        Target = new V2MetricTarget { Type = "AverageValue", AverageValue = new ResourceQuantity(parameters.QueueTimeTargetUs.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                    },
                },
            ],
            Behavior = new V2HorizontalPodAutoscalerBehavior
            {
                // Up at once (a GPU node takes minutes to join); down one pod at a time after 5 quiet minutes.
                ScaleUp = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = 0,
                    SelectPolicy = "Max",
                    Policies = [new V2HPAScalingPolicy { Type = "Pods", Value = 2, PeriodSeconds = 60 }],
                },
                ScaleDown = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = 300,
                    SelectPolicy = "Min",
                    Policies = [new V2HPAScalingPolicy { Type = "Pods", Value = 1, PeriodSeconds = 120 }],
                },
            },
        },
    };

    /// <summary>Voluntary disruptions (node upgrades, scale-down) take one pod at a time; with maxUnavailable rather
    /// than minAvailable a single replica can still be moved.</summary>
    public static V1PodDisruptionBudget DisruptionBudget(GkeParameters parameters) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = Labels.Metadata(GkeWorkload.InferenceName, parameters.Namespace, GkeWorkload.InferenceName, "autoscaling"),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = 1,
            Selector = new V1LabelSelector { MatchLabels = Labels.Selector(GkeWorkload.InferenceName) },
        },
    };
}
