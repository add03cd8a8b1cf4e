using System.Text.Json.Nodes;

/// <summary>
/// Prometheus and Grafana beside the inference server, configured from the repository's monitoring/ folder.
/// Prometheus runs as an executable (Debian's /usr/bin/prometheus; no container runtime is needed) over a copy of
/// monitoring/prometheus in the AppHost's obj folder, whose file_sd target files are written from the scrape endpoints
/// just before Prometheus starts. Grafana runs as a container with the provisioning and dashboards mounted; where no
/// container runtime exists it stays unhealthy and everything else runs.
/// </summary>
internal static class Monitoring
{
    /// <summary>Debian's package path of the Prometheus server.</summary>
    public const string PrometheusBinary = "/usr/bin/prometheus";

    /// <summary>
    /// Adds "prometheus" and "grafana". <paramref name="scrapeTargets"/> maps a scrape job of
    /// monitoring/prometheus/prometheus.yml ("inference", "loadtest") to the endpoints serving its /metrics.
    /// </summary>
    public static (IResourceBuilder<ExecutableResource> Prometheus, IResourceBuilder<ContainerResource> Grafana) AddMonitoring(
        this IDistributedApplicationBuilder builder, IReadOnlyDictionary<string, EndpointReference[]> scrapeTargets)
    {
        var monitoring = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "monitoring"));
        var configDirectory = Path.Combine(builder.AppHostDirectory, "obj", "prometheus");

        var prometheus = builder.AddExecutable("prometheus", PrometheusBinary, configDirectory)
            .WithHttpEndpoint(port: 9090, name: "http")
            .WithHttpHealthCheck("/-/ready");
        var http = prometheus.GetEndpoint("http");
        prometheus.WithArgs(
            "--config.file=" + Path.Combine(configDirectory, "prometheus.yml"),
            "--storage.tsdb.path=" + Path.Combine(configDirectory, "data"),
            ReferenceExpression.Create($"--web.listen-address=127.0.0.1:{http.Property(EndpointProperty.TargetPort)}"));
        foreach (var endpoint in scrapeTargets.Values.SelectMany(e => e))
        {
            prometheus.WithReference(endpoint);
        }
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(prometheus.Resource, async (_, cancellationToken) =>
            await WriteConfigurationAsync(Path.Combine(monitoring, "prometheus"), configDirectory, scrapeTargets, cancellationToken));

        var grafana = builder.AddContainer("grafana", "grafana/grafana", "11.4.0")
            .WithBindMount(Path.Combine(monitoring, "grafana", "provisioning"), "/etc/grafana/provisioning", isReadOnly: true)
            .WithBindMount(Path.Combine(monitoring, "grafana", "dashboards"), "/var/lib/grafana/dashboards", isReadOnly: true)
            .WithEnvironment("PROMETHEUS_URL", http)
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin")
            .WithEnvironment("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "/var/lib/grafana/dashboards/inference.json")
            .WithHttpEndpoint(port: 3000, targetPort: 3000, name: "http")
            .WithHttpHealthCheck("/api/health")
            .WaitFor(prometheus);
        return (prometheus, grafana);
    }

    /// <summary>Copies prometheus.yml and the rules into <paramref name="target"/> and writes targets/&lt;job&gt;.json
    /// (host:port of each allocated endpoint) for every job.</summary>
    private static async Task WriteConfigurationAsync(string source, string target,
        IReadOnlyDictionary<string, EndpointReference[]> scrapeTargets, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(target, "rules"));
        Directory.CreateDirectory(Path.Combine(target, "targets"));
        File.Copy(Path.Combine(source, "prometheus.yml"), Path.Combine(target, "prometheus.yml"), overwrite: true);
        foreach (var rules in Directory.GetFiles(Path.Combine(source, "rules"), "*.yml"))
        {
            File.Copy(rules, Path.Combine(target, "rules", Path.GetFileName(rules)), overwrite: true);
        }
        foreach (var file in Directory.GetFiles(Path.Combine(source, "targets"), "*.json"))
        {
            var job = Path.GetFileNameWithoutExtension(file);
            var hosts = new JsonArray();
            foreach (var endpoint in scrapeTargets.GetValueOrDefault(job) ?? [])
            {
                hosts.Add(await endpoint.Property(EndpointProperty.HostAndPort).GetValueAsync(cancellationToken));
            }
            var groups = hosts.Count == 0 ? new JsonArray() : new JsonArray(new JsonObject { ["targets"] = hosts });
            await File.WriteAllTextAsync(Path.Combine(target, "targets", job + ".json"), groups.ToJsonString(), cancellationToken);
        }
    }
}
