using AspireInference.AppHost.Deployment;
using AspireInference.AppHost.Deployment.Manifests;
using AspireInference.AppHost.Deployment.Resources;
using k8s;
using k8s.Models;

namespace Inference.Tests.AppHost.Deployment;

/// <summary>
/// The checked-in deploy/gke/, rendered overlay by overlay and loaded strictly (an unknown field or kind fails), checked
/// against the rules no schema checks: selectors, named ports, GPU requests, probe budgets, the drain, and agreement
/// with the AppHost's model.
/// </summary>
public sealed class GkeManifestRulesTests
{
    public static TheoryData<string> Overlays => [.. GkeTargets.All.Select(t => t.Name)];

    private static List<object> Render(string overlay) =>
        GkePublish.Render(Path.Combine(GkePublish.CheckedInFolder, GkeManifests.OverlaysFolder, overlay));

    private static V1Deployment Inference(List<object> objects) =>
        objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == GkeWorkload.InferenceName);

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void EveryObject_IsNamespacedNamedAndUnique(string overlay)
    {
        var objects = Render(overlay);
        var metadata = objects.Cast<IKubernetesObject<V1ObjectMeta>>().ToList();
        var ns = Assert.Single(objects.OfType<V1Namespace>()).Metadata.Name;
        Assert.All(metadata.Where(o => o.Kind != "Namespace"), o => Assert.Equal(ns, o.Metadata.NamespaceProperty));
        Assert.All(metadata, o => Assert.True(KubernetesName.IsValid(o.Metadata.Name), o.Metadata.Name));
        var keys = metadata.Select(o => $"{o.ApiVersion}/{o.Kind}/{o.Metadata.Name}").ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Selectors_MatchThePodsTheyMeanAndNamedPortsExist(string overlay)
    {
        var objects = Render(overlay);
        var pods = objects.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name, d => d.Spec.Template);
        foreach (var deployment in objects.OfType<V1Deployment>())
        {
            Assert.True(Selects(deployment.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels), deployment.Metadata.Name);
            foreach (var container in deployment.Spec.Template.Spec.Containers)
            {
                var ports = (container.Ports ?? []).Select(p => p.Name).ToHashSet();
                foreach (var probe in new[] { container.StartupProbe, container.LivenessProbe, container.ReadinessProbe }.Where(p => p is not null))
                {
                    Assert.Contains(probe!.HttpGet.Port.Value, ports);
                }
                foreach (var mount in container.VolumeMounts ?? [])
                {
                    Assert.Contains(deployment.Spec.Template.Spec.Volumes ?? [], v => v.Name == mount.Name);
                }
                foreach (var configMap in (container.Env ?? []).Select(e => e.ValueFrom?.ConfigMapKeyRef).Where(r => r is not null))
                {
                    Assert.Contains(objects.OfType<V1ConfigMap>(), c => c.Metadata.Name == configMap!.Name && c.Data.ContainsKey(configMap.Key));
                }
            }
            foreach (var volume in (deployment.Spec.Template.Spec.Volumes ?? []).Where(v => v.ConfigMap is not null))
            {
                Assert.Contains(objects.OfType<V1ConfigMap>(), c => c.Metadata.Name == volume.ConfigMap.Name);
            }
            if (deployment.Spec.Template.Spec.ServiceAccountName is { } account)
            {
                Assert.Contains(objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == account);
            }
        }
        foreach (var service in objects.OfType<V1Service>())
        {
            var pod = Assert.Single(pods.Values, p => Selects(service.Spec.Selector, p.Metadata.Labels));
            var containerPorts = pod.Spec.Containers.SelectMany(c => c.Ports).ToList();
            Assert.All(service.Spec.Ports, p => Assert.Contains(containerPorts, c => c.Name == p.TargetPort.Value && c.Protocol == p.Protocol));
        }
        foreach (var monitor in objects.OfType<PodMonitoring>().Where(m => m.Metadata.Name == GkeWorkload.InferenceName))
        {
            var pod = Assert.Single(pods.Values, p => Selects(monitor.Spec.Selector.MatchLabels, p.Metadata.Labels));
            Assert.All(monitor.Spec.Endpoints, e => Assert.Contains(pod.Spec.Containers.SelectMany(c => c.Ports), c => c.Name == e.Port));
        }
        var budget = Assert.Single(objects.OfType<V1PodDisruptionBudget>());
        Assert.True(Selects(budget.Spec.Selector.MatchLabels, Inference(objects).Spec.Template.Metadata.Labels));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void GpuOverlays_RequestOneGpuOnTheirAcceleratorAndOnePodPerNode(string overlay)
    {
        var target = GkeTargets.Find(overlay)!;
        var pod = Inference(Render(overlay)).Spec.Template.Spec;
        var resources = Assert.Single(pod.Containers).Resources;
        if (!target.HasGpu)
        {
            Assert.False(resources.Limits.ContainsKey("nvidia.com/gpu"));
            Assert.False(resources.Requests.ContainsKey("nvidia.com/gpu"));
            Assert.Null(pod.NodeSelector);
            Assert.DoesNotContain("--model-config-name=gpu", pod.Containers[0].Args);
            return;
        }
        Assert.Equal("1", resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("1", resources.Requests["nvidia.com/gpu"].ToString());
        Assert.True(resources.Requests.ContainsKey("cpu") && resources.Requests.ContainsKey("memory"));
        Assert.Equal(target.Accelerator, pod.NodeSelector["cloud.google.com/gke-accelerator"]);
        Assert.Contains("--model-config-name=gpu", pod.Containers[0].Args);
        var term = Assert.Single(pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution);
        Assert.Equal("kubernetes.io/hostname", term.TopologyKey);
        Assert.True(Selects(term.LabelSelector.MatchLabels, Inference(Render(overlay)).Spec.Template.Metadata.Labels));
        if (target.Autopilot)
        {
            Assert.Equal("Accelerator", pod.NodeSelector["cloud.google.com/compute-class"]);
        }
        else
        {
            Assert.Contains(pod.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Probes_GiveTheLoadItsTimeAndTheDrainFitsTheGracePeriod(string overlay)
    {
        var pod = Inference(Render(overlay)).Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal("/v2/health/ready", container.StartupProbe.HttpGet.Path);
        Assert.Equal("/v2/health/ready", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal("/v2/health/live", container.LivenessProbe.HttpGet.Path);
        // Liveness starts only after the startup probe passed; that budget must outlast a cold model load.
        Assert.True(container.StartupProbe.PeriodSeconds * container.StartupProbe.FailureThreshold >= 600);

        var exitTimeout = int.Parse(Assert.Single(container.Args, a => a.StartsWith("--exit-timeout-secs=", StringComparison.Ordinal)).Split('=')[1]);
        var preStop = container.Lifecycle.PreStop.Sleep.Seconds;
        Assert.True(preStop > 0);
        Assert.True(pod.TerminationGracePeriodSeconds > preStop + exitTimeout,
            $"terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds} must exceed preStop {preStop} + --exit-timeout-secs {exitTimeout}");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Autoscaler_TargetsTheDeploymentOnQueueTimeWithAStabilizedScaleDown(string overlay)
    {
        var objects = Render(overlay);
        var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
        Assert.Equal(("apps/v1", "Deployment", Inference(objects).Metadata.Name),
            (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
        Assert.Null(Inference(objects).Spec.Replicas);
        Assert.InRange(hpa.Spec.MinReplicas!.Value, 1, hpa.Spec.MaxReplicas);
        var metric = Assert.Single(hpa.Spec.Metrics);
        Assert.Equal("Pods", metric.Type);
        Assert.Equal("prometheus.googleapis.com|nv_inference_queue_duration_avg_us|gauge", metric.Pods.Metric.Name);
        Assert.Equal("AverageValue", metric.Pods.Target.Type);
        Assert.True(hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds >= 60);
        // The metric is scraped from the pods the HPA scales.
        var monitor = objects.OfType<PodMonitoring>().Single(m => m.Metadata.Name == GkeWorkload.InferenceName);
        Assert.True(Selects(monitor.Spec.Selector.MatchLabels, Inference(objects).Spec.Template.Metadata.Labels));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void LoadBalancer_RoutesGrpcAndHttpToServicePortsAndChecksReadiness(string overlay)
    {
        var objects = Render(overlay);
        var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == GkeWorkload.InferenceName);
        var gateway = Assert.Single(objects.OfType<Gateway>());
        var route = Assert.Single(objects.OfType<HttpRoute>());
        Assert.Equal(gateway.Metadata.Name, Assert.Single(route.Spec.ParentRefs).Name);
        Assert.All(route.Spec.Rules.SelectMany(r => r.BackendRefs), b =>
        {
            Assert.Equal(service.Metadata.Name, b.Name);
            Assert.Contains(service.Spec.Ports, p => p.Port == b.Port);
        });
        var grpcRule = Assert.Single(route.Spec.Rules, r => r.Matches.Any(m => m.Path.Value == "/inference.GRPCInferenceService/"));
        var grpcPort = service.Spec.Ports.Single(p => p.Port == Assert.Single(grpcRule.BackendRefs).Port);
        Assert.Equal("kubernetes.io/h2c", grpcPort.AppProtocol);

        var health = Assert.Single(objects.OfType<HealthCheckPolicy>());
        Assert.Equal(("Service", service.Metadata.Name), (health.Spec.TargetRef.Kind, health.Spec.TargetRef.Name));
        var httpPort = service.Spec.Ports.Single(p => p.Name == "http");
        Assert.Equal((httpPort.Port, "/v2/health/ready"), (health.Spec.Default.Config.HttpHealthCheck.Port, health.Spec.Default.Config.HttpHealthCheck.RequestPath));
        var backend = Assert.Single(objects.OfType<GcpBackendPolicy>());
        Assert.Equal(service.Metadata.Name, backend.Spec.TargetRef.Name);
    }

    [Fact]
    public async Task ImagesPortsAndArgs_AgreeWithTheAppHostModel()
    {
        var builder = await Aspire.Hosting.Testing.DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--operation", "publish", "--step", GkePipelineSteps.PublishStep, GkePublish.ClearCache], TestContext.Current.CancellationToken);
        var inference = builder.Resources.OfType<Aspire.Hosting.ApplicationModel.ProjectResource>().Single(r => r.Name == "inference");
        var endpoints = inference.Annotations.OfType<Aspire.Hosting.ApplicationModel.EndpointAnnotation>().ToDictionary(e => e.Name, e => e.Port);

        foreach (var target in GkeTargets.All)
        {
            var objects = Render(target.Name);
            var container = Inference(objects).Spec.Template.Spec.Containers[0];
            Assert.Equal("inference-server:latest", container.Image);
            var ports = container.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
            Assert.Equal(endpoints["http"], ports["http"]);
            Assert.Equal(endpoints["grpc"], ports["grpc"]);
            Assert.Equal(endpoints["metrics"], ports["metrics"]);
            Assert.Contains($"--http-port={endpoints["http"]}", container.Args);
            Assert.Contains($"--grpc-port={endpoints["grpc"]}", container.Args);
            Assert.Contains($"--metrics-port={endpoints["metrics"]}", container.Args);
        }

        var job = GkePublish.Render(Path.Combine(GkePublish.CheckedInFolder, GkeManifests.LoadTestFolder)).OfType<V1Job>().Single();
        var loadtest = Assert.Single(job.Spec.Template.Spec.Containers);
        Assert.Equal("loadtest:latest", loadtest.Image);
        Assert.Equal(("Indexed", "Never", 0), (job.Spec.CompletionMode, job.Spec.Template.Spec.RestartPolicy, job.Spec.BackoffLimit));
        var url = $"http://inference.aspire-inference.svc.cluster.local:{endpoints["grpc"]}";
        Assert.Equal(LoadTestScenario.Arguments(url).Cast<string>(), loadtest.Args);
        Assert.Contains(GkePublish.Render(Path.Combine(GkePublish.CheckedInFolder, GkeManifests.BaseFolder)).OfType<PodMonitoring>(),
            m => Selects(m.Spec.Selector.MatchLabels, job.Spec.Template.Metadata.Labels) && m.Spec.Endpoints.All(e => loadtest.Ports.Any(p => p.Name == e.Port)));
    }

    [Fact]
    public void Rules_CarryEveryRecordingAndAlertRuleOfTheRepository()
    {
        var rules = GkePublish.Render(Path.Combine(GkePublish.CheckedInFolder, GkeManifests.BaseFolder)).OfType<Rules>().Single();
        var names = rules.Spec.Groups.SelectMany(g => g.Rules).Select(r => r.Record ?? r.Alert).ToHashSet();
        foreach (var file in Directory.GetFiles(Path.Combine(AppHostModelTests.RepositoryRoot, "monitoring", "prometheus", "rules"), "*.yml"))
        {
            foreach (var line in File.ReadLines(file).Select(l => l.Trim()).Where(l => l.StartsWith("- record:", StringComparison.Ordinal) || l.StartsWith("- alert:", StringComparison.Ordinal)))
            {
                Assert.Contains(line[(line.IndexOf(':') + 1)..].Trim(), names);
            }
        }
    }

    /// <summary>Where kubectl is installed (kustomize built in), it renders each overlay to the same objects as the
    /// reading above, strictly loadable: the layout is what <c>kubectl apply -k</c> takes.</summary>
    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Kubectl_RendersEachOverlayToTheSameObjects(string overlay)
    {
        var kubectl = new[] { "/usr/bin/kubectl", "/usr/local/bin/kubectl" }.FirstOrDefault(File.Exists);
        if (kubectl is null)
        {
            Assert.Skip("kubectl is not installed");
        }
        var folder = Path.Combine(GkePublish.CheckedInFolder, GkeManifests.OverlaysFolder, overlay);
        var info = new System.Diagnostics.ProcessStartInfo(kubectl, ["kustomize", folder]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        var rendered = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(process.ExitCode == 0, errors);

        static string Key(object o) => o is IKubernetesObject<V1ObjectMeta> k ? $"{k.ApiVersion}/{k.Kind}/{k.Metadata.Name}" : o.GetType().Name;
        var fromKubectl = KubernetesYaml.LoadAllFromString(rendered, GkePublish.Types, strict: true).Select(Key).Order().ToList();
        Assert.Equal(Render(overlay).Select(Key).Order().ToList(), fromKubectl);
    }

    [Fact]
    public void StrictLoading_RejectsAMisspeltField()
    {
        var text = File.ReadAllText(Path.Combine(GkePublish.CheckedInFolder, GkeManifests.OverlaysFolder, "standard-t4", "deployment.yaml"))
            .Replace("revisionHistoryLimit:", "revisionHistoryLimt:", StringComparison.Ordinal);
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(text, GkePublish.Types, strict: true));
    }
}
