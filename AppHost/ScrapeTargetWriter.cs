using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

/// <summary>A scrape job of monitoring/prometheus/prometheus.yml ("inference", "loadtest"), the endpoint whose
/// <c>/metrics</c> it scrapes on every replica of the endpoint's resource, and the environment variable through which
/// Aspire hands each replica its own port for that endpoint (the endpoint's <c>env:</c>).</summary>
internal sealed record ScrapeJob(string Name, EndpointReference Endpoint, string PortVariable);

/// <summary>
/// Keeps Prometheus's file_sd files (<c>targets/&lt;job&gt;.json</c>) listing every running replica of each scraped
/// resource, one target per replica. Aspire's proxy port alternates between replicas, so scraping it would mix them
/// up; instead each replica is scraped on the port DCP gave that replica, read from the replica's effective
/// environment (the endpoint's target-port variable, e.g. <c>Inference__MetricsPort</c>) in its resource snapshot.
/// A replica that stops or restarts drops out or comes back with its new port. Each file is replaced atomically,
/// and Prometheus rereads it when the folder changes. Labels: <c>replica</c> is the replica's resource id
/// (as the dashboard names it); Prometheus's <c>instance</c> is host:port, distinct per replica. Changes are logged
/// to Prometheus's console in the dashboard.
/// </summary>
internal sealed partial class ScrapeTargetWriter(
    IReadOnlyList<ScrapeJob> jobs,
    string targetsDirectory,
    string targetHost,
    ResourceNotificationService notifications,
    ILogger logger)
{
    /// <summary>Writes every job's file (empty at first) and keeps them current until <paramref name="stoppingToken"/>
    /// is cancelled; failures are logged, not thrown. Started from BeforeStartEvent rather than as a hosted service:
    /// on the development VMs (a docker CLI without its daemon) the AppHost's host never finished starting, so a hosted
    /// service registered by the AppHost never ran.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WatchAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            LogFailed(logger, targetsDirectory, e);
        }
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        // Per job: replica resource id -> host:port, in id order so that the files are stable.
        var targets = jobs.Select(j => j.Name).Distinct().ToDictionary(j => j, _ => new SortedDictionary<string, string>(StringComparer.Ordinal));
        Directory.CreateDirectory(targetsDirectory);
        foreach (var (job, replicas) in targets)
        {
            await WriteAsync(job, replicas, stoppingToken);
        }

        await foreach (var update in notifications.WatchAsync(stoppingToken))
        {
            foreach (var job in jobs.Where(j => j.Endpoint.Resource.Name == update.Resource.Name))
            {
                var replicas = targets[job.Name];
                var target = TargetOf(update.Snapshot, job);
                var changed = target is null
                    ? replicas.Remove(update.ResourceId)
                    : !(replicas.TryGetValue(update.ResourceId, out var known) && known == target);
                if (!changed)
                {
                    continue;
                }
                if (target is not null)
                {
                    replicas[update.ResourceId] = target;
                }
                await WriteAsync(job.Name, replicas, stoppingToken);
                LogTargets(logger, job.Name, replicas.Count, string.Join(", ", replicas.Select(r => $"{r.Value} ({r.Key})")));
            }
        }
    }

    /// <summary>host:port of a running replica, or null while it is not running or its port is not known yet.</summary>
    private string? TargetOf(CustomResourceSnapshot snapshot, ScrapeJob job)
    {
        if (snapshot.State?.Text != KnownResourceStates.Running)
        {
            return null;
        }
        var port = snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == job.PortVariable)?.Value;
        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535
            ? $"{targetHost}:{p.ToString(CultureInfo.InvariantCulture)}"
            : null;
    }

    private async Task WriteAsync(string job, SortedDictionary<string, string> replicas, CancellationToken cancellationToken)
    {
        var groups = new JsonArray([.. replicas.Select(r => new JsonObject
        {
            ["targets"] = new JsonArray(r.Value),
            ["labels"] = new JsonObject { ["replica"] = r.Key },
        })]);
        var path = Path.Combine(targetsDirectory, job + ".json");
        // The temporary name does not end in .json, so Prometheus's targets/<job>*.json pattern never reads it half-written.
        var temporary = Path.Combine(targetsDirectory, $".{job}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllTextAsync(temporary, groups.ToJsonString(), cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Scrape job '{Job}': {Count} target(s): {Targets}")]
    private static partial void LogTargets(ILogger logger, string job, int count, string targets);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Scrape targets in '{Directory}' are no longer kept current")]
    private static partial void LogFailed(ILogger logger, string directory, Exception exception);
}
