using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// Prometheus and Grafana beside the inference server, configured from the repository's monitoring/ folder.
/// Prometheus is the official container image where a container runtime answers (<see cref="ContainerRuntimeProbe"/>)
/// and Debian's executable (/usr/bin/prometheus) where none does, as on the development VMs; <c>Monitoring:Prometheus</c>
/// (<c>auto</c>, <c>container</c>, <c>executable</c>) overrides the choice. When running, it reads a copy of
/// monitoring/prometheus in the AppHost's obj folder, whose file_sd target files <see cref="ScrapeTargetWriter"/> keeps
/// listing one target per replica. The published manifest always has the container, mounting the checked-in
/// monitoring/prometheus, so that it is the same on every machine and holds no path of the machine that wrote it.
/// Grafana runs as a container with the provisioning and dashboards mounted; where no container runtime exists it
/// stays unhealthy and everything else runs.
/// </summary>
internal static class Monitoring
{
    /// <summary>Debian's package path of the Prometheus server.</summary>
    public const string PrometheusBinary = "/usr/bin/prometheus";

    /// <summary>The official image; the last 2.x line, as Debian's 2.42 that the configuration is checked with.</summary>
    public const string PrometheusImage = "prom/prometheus";
    public const string PrometheusTag = "v2.55.1";

    /// <summary>Configuration key choosing how Prometheus runs: auto (default), container or executable.</summary>
    public const string PrometheusModeKey = "Monitoring:Prometheus";

    /// <summary>Adds "prometheus", scraping every replica of each job's endpoint, and "grafana".</summary>
    public static (IResourceBuilder<IResourceWithEndpoints> Prometheus, IResourceBuilder<ContainerResource> Grafana) AddMonitoring(
        this IDistributedApplicationBuilder builder, int prometheusPort, int grafanaPort, params ScrapeJob[] jobs)
    {
        var monitoring = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "monitoring"));
        var configDirectory = Path.Combine(builder.AppHostDirectory, "obj", "prometheus");
        var inContainer = builder.ExecutionContext.IsPublishMode || UseContainer(builder.Configuration);

        IResourceBuilder<IResourceWithEndpoints> prometheus = inContainer
            ? ScrapingAndChecked(AddPrometheusContainer(builder, builder.ExecutionContext.IsPublishMode ? Path.Combine(monitoring, "prometheus") : configDirectory, prometheusPort), jobs)
            : ScrapingAndChecked(AddPrometheusExecutable(builder, configDirectory, prometheusPort), jobs);

        if (builder.ExecutionContext.IsRunMode)
        {
            builder.Eventing.Subscribe<BeforeResourceStartedEvent>(prometheus.Resource, (_, cancellationToken) =>
                CopyConfigurationAsync(Path.Combine(monitoring, "prometheus"), configDirectory, cancellationToken));
            // From a container, the replicas on this machine are reached through the runtime's host name.
            var targetHost = inContainer ? "host.docker.internal" : "localhost";
            builder.Eventing.Subscribe<BeforeStartEvent>((e, cancellationToken) =>
            {
                var writer = new ScrapeTargetWriter(jobs, Path.Combine(configDirectory, "targets"), targetHost,
                    e.Services.GetRequiredService<ResourceNotificationService>(),
                    e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(prometheus.Resource));
                _ = writer.RunAsync(e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
                return Task.CompletedTask;
            });
        }

        var grafana = builder.AddContainer("grafana", "grafana/grafana", "11.4.0")
            .WithBindMount(Path.Combine(monitoring, "grafana", "provisioning"), "/etc/grafana/provisioning", isReadOnly: true)
            .WithBindMount(Path.Combine(monitoring, "grafana", "dashboards"), "/var/lib/grafana/dashboards", isReadOnly: true)
            .WithEnvironment("PROMETHEUS_URL", prometheus.GetEndpoint("http"))
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin")
            .WithEnvironment("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "/var/lib/grafana/dashboards/inference.json")
            .WithHttpEndpoint(port: grafanaPort, targetPort: 3000, name: "http")
            .WithHttpHealthCheck("/api/health")
            .WaitFor(prometheus);
        return (prometheus, grafana);
    }

    /// <summary>Prometheus's readiness as its health, and a reference to every scraped endpoint (the dashboard's graph).</summary>
    private static IResourceBuilder<T> ScrapingAndChecked<T>(IResourceBuilder<T> prometheus, ScrapeJob[] jobs)
        where T : IResourceWithEndpoints, IResourceWithEnvironment
    {
        prometheus.WithHttpHealthCheck("/-/ready", endpointName: "http");
        foreach (var job in jobs)
        {
            prometheus.WithReference(job.Endpoint);
        }
        return prometheus;
    }

    private static bool UseContainer(IConfiguration configuration) =>
        (configuration[PrometheusModeKey] ?? "auto").Trim().ToLowerInvariant() switch
        {
            "auto" => ContainerRuntimeProbe.FindUsable(
                configuration["ASPIRE_CONTAINER_RUNTIME"], Environment.GetEnvironmentVariable("PATH"), ContainerRuntimeProbe.DefaultTimeout) is not null,
            "container" => true,
            "executable" => false,
            var other => throw new DistributedApplicationException($"{PrometheusModeKey} must be auto, container or executable (got '{other}')."),
        };

    /// <summary>Debian's Prometheus over <paramref name="configDirectory"/>, its working directory: the arguments are
    /// relative to it, so that no path of this machine reaches the arguments.</summary>
    private static IResourceBuilder<ExecutableResource> AddPrometheusExecutable(IDistributedApplicationBuilder builder, string configDirectory, int port)
    {
        var prometheus = builder.AddExecutable("prometheus", PrometheusBinary, configDirectory)
            .WithHttpEndpoint(port: port, name: "http");
        var http = prometheus.GetEndpoint("http");
        return prometheus.WithArgs(
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            ReferenceExpression.Create($"--web.listen-address=127.0.0.1:{http.Property(EndpointProperty.TargetPort)}"));
    }

    /// <summary>The official image with <paramref name="configSource"/> as /etc/prometheus; its data stays in the
    /// container (the image's /prometheus).</summary>
    private static IResourceBuilder<ContainerResource> AddPrometheusContainer(IDistributedApplicationBuilder builder, string configSource, int port) =>
        builder.AddContainer("prometheus", PrometheusImage, PrometheusTag)
            .WithBindMount(configSource, "/etc/prometheus", isReadOnly: true)
            .WithArgs("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus")
            .WithHttpEndpoint(port: port, targetPort: 9090, name: "http");

    /// <summary>Copies prometheus.yml and the rules into <paramref name="target"/>; the targets/ files there are
    /// <see cref="ScrapeTargetWriter"/>'s.</summary>
    private static Task CopyConfigurationAsync(string source, string target, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(target, "rules"));
        File.Copy(Path.Combine(source, "prometheus.yml"), Path.Combine(target, "prometheus.yml"), overwrite: true);
        foreach (var rules in Directory.GetFiles(Path.Combine(source, "rules"), "*.yml"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            File.Copy(rules, Path.Combine(target, "rules", Path.GetFileName(rules)), overwrite: true);
        }
        return Task.CompletedTask;
    }
}
