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
/// Grafana runs as a container with the provisioning and dashboards mounted. Where a resource cannot run (no container
/// runtime answers, Prometheus is not installed) it is listed as failed to start, with the reason, and the rest runs.
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

    /// <summary>The Grafana image the dashboards are provisioned for.</summary>
    public const string GrafanaImage = "grafana/grafana";
    public const string GrafanaTag = "11.4.0";

    /// <summary>
    /// Adds "prometheus", scraping every replica of each job's endpoint, and "grafana". When running, a resource that
    /// cannot run here (a container with no runtime answering, Prometheus's executable not installed) is added as an
    /// <see cref="UnavailableResource"/> that says why, and the rest runs on.
    /// </summary>
    public static (IResourceBuilder<IResource> Prometheus, IResourceBuilder<IResource> Grafana) AddMonitoring(
        this IDistributedApplicationBuilder builder, int prometheusPort, int grafanaPort, params ScrapeJob[] jobs)
    {
        var monitoring = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", "monitoring"));
        var configDirectory = Path.Combine(builder.AppHostDirectory, "obj", "prometheus");
        if (builder.ExecutionContext.IsPublishMode)
        {
            var published = ScrapingAndChecked(AddPrometheusContainer(builder, Path.Combine(monitoring, "prometheus"), prometheusPort), jobs);
            return (published, AddGrafana(builder, monitoring, published, grafanaPort));
        }

        var runtime = new Lazy<ContainerRuntimeStatus>(() => ContainerRuntimeProbe.Probe(
            builder.Configuration["ASPIRE_CONTAINER_RUNTIME"],
            builder.Configuration["PATH"] ?? Environment.GetEnvironmentVariable("PATH"),
            ContainerRuntimeProbe.DefaultTimeout));
        var mode = PrometheusMode(builder.Configuration);
        var inContainer = mode == "container" || (mode == "auto" && runtime.Value.IsUsable);
        IResourceBuilder<IResourceWithEndpoints>? prometheus = null;
        IResourceBuilder<IResource> prometheusResource;
        if (inContainer && !runtime.Value.IsUsable)
        {
            prometheusResource = builder.AddUnavailable("prometheus", "Container",
                $"{PrometheusModeKey}=container, and no container runtime answers ({runtime.Value.Reason}). Start Docker or " +
                $"Podman, or set {PrometheusModeKey}=auto or executable to run Debian's {PrometheusBinary}.");
        }
        else if (!inContainer && !File.Exists(PrometheusBinary))
        {
            prometheusResource = builder.AddUnavailable("prometheus", "Executable",
                $"{PrometheusBinary} is not installed (Debian's package: apt-get install prometheus), and no container " +
                $"runtime runs {PrometheusImage}:{PrometheusTag} instead" +
                (mode == "auto" ? $" ({runtime.Value.Reason})." : $" ({PrometheusModeKey}=executable)."));
        }
        else
        {
            prometheus = inContainer
                ? ScrapingAndChecked(AddPrometheusContainer(builder, configDirectory, prometheusPort), jobs)
                : ScrapingAndChecked(AddPrometheusExecutable(builder, configDirectory, prometheusPort), jobs);
            prometheusResource = prometheus;
            builder.Eventing.Subscribe<BeforeResourceStartedEvent>(prometheus.Resource, (_, cancellationToken) =>
                CopyConfigurationAsync(Path.Combine(monitoring, "prometheus"), configDirectory, cancellationToken));
            // From a container, the replicas on this machine are reached through the runtime's host name.
            var targetHost = inContainer ? "host.docker.internal" : "localhost";
            var logged = prometheus.Resource;
            builder.Eventing.Subscribe<BeforeStartEvent>((e, cancellationToken) =>
            {
                var writer = new ScrapeTargetWriter(jobs, Path.Combine(configDirectory, "targets"), targetHost,
                    e.Services.GetRequiredService<ResourceNotificationService>(),
                    e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(logged));
                _ = writer.RunAsync(e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
                return Task.CompletedTask;
            });
        }

        // Grafana has no Debian package nor another way to run here than its container.
        IResourceBuilder<IResource> grafana = (prometheus, runtime.Value) switch
        {
            (_, { IsUsable: false } none) => builder.AddUnavailable("grafana", "Container",
                $"Grafana runs as the container {GrafanaImage}:{GrafanaTag}, and no container runtime answers ({none.Reason}). " +
                "Start Docker or Podman and restart the AppHost; until then Prometheus's own pages show the metrics."),
            (null, _) => builder.AddUnavailable("grafana", "Container", "it reads Prometheus, which is not available here (see the prometheus resource)."),
            _ => AddGrafana(builder, monitoring, prometheus, grafanaPort),
        };
        return (prometheusResource, grafana);
    }

    private static IResourceBuilder<ContainerResource> AddGrafana(
        IDistributedApplicationBuilder builder, string monitoring, IResourceBuilder<IResourceWithEndpoints> prometheus, int port) =>
        builder.AddContainer("grafana", GrafanaImage, GrafanaTag)
            .WithBindMount(Path.Combine(monitoring, "grafana", "provisioning"), "/etc/grafana/provisioning", isReadOnly: true)
            .WithBindMount(Path.Combine(monitoring, "grafana", "dashboards"), "/var/lib/grafana/dashboards", isReadOnly: true)
            .WithEnvironment("PROMETHEUS_URL", prometheus.GetEndpoint("http"))
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Admin")
            .WithEnvironment("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "/var/lib/grafana/dashboards/inference.json")
            .WithHttpEndpoint(port: port, targetPort: 3000, name: "http")
            .WithHttpHealthCheck("/api/health")
            .WaitFor(prometheus);

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

    private static string PrometheusMode(IConfiguration configuration) =>
        (configuration[PrometheusModeKey] ?? "auto").Trim().ToLowerInvariant() switch
        {
            var known and ("auto" or "container" or "executable") => known,
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
