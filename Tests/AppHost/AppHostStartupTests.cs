using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Inference.Tests.AppHost;

/// <summary>
/// Starts the AppHost's non-container resources for real (DCP, two replicas of the inference server on its default
/// repository, Debian's Prometheus as an executable) and waits until the inference server is healthy and Prometheus
/// scrapes each replica on its own port; Grafana is removed first because no container runtime exists on the
/// development and CI machines.
/// </summary>
public sealed class AppHostStartupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoReplicas_BecomeHealthy_ServeResNet50_AndAreScrapedOneTargetEach()
    {
        var (_, built) = await AppHostWithoutContainers.BuildAsync(["Parameters:inference-replicas=2", "Monitoring:Prometheus=executable"], Ct);
        await using var app = built;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        await app.StartAsync(timeout.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("inference", timeout.Token);

        // Healthy means one replica so far; the proxy alternates, so both answer ready when several calls in a row do.
        using var http = app.CreateHttpClient("inference", "http");
        await WaitUntilReadyInARowAsync(http, "/v2/models/resnet50/ready", times: 4, timeout.Token);
        var metadata = await http.GetStringAsync("/v2/models/resnet50", timeout.Token);
        Assert.Contains("\"shape\":[-1,3,224,224]", metadata, StringComparison.Ordinal);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("prometheus", timeout.Token);
        using var prometheus = app.CreateHttpClient("prometheus", "http");
        var targets = await WaitForInferenceTargetsUpAsync(prometheus, count: 2, timeout.Token);

        // One target per replica, each on the replica's own port (not the shared proxy port), each a different
        // replica resource and a different process.
        Assert.Equal(2, targets.Select(t => t.Instance).Distinct().Count());
        Assert.Equal(2, targets.Select(t => t.Replica).Distinct().Count());
        var proxyPort = app.GetEndpoint("inference", "metrics").Port;
        Assert.All(targets, t => Assert.NotEqual(proxyPort, new Uri("http://" + t.Instance).Port));
        Assert.All(targets, t => Assert.True(
            app.ResourceNotifications.TryGetCurrentState(t.Replica, out var replica) && replica.Resource.Name == "inference"
                && replica.Snapshot.State?.Text == KnownResourceStates.Running,
            $"{t.Replica} is not a running replica of inference"));
    }

    private sealed record Target(string Instance, string Replica);

    /// <summary>Polls <paramref name="path"/> until it answers 200 <paramref name="times"/> times in a row.</summary>
    private static async Task WaitUntilReadyInARowAsync(HttpClient http, string path, int times, CancellationToken ct)
    {
        var inARow = 0;
        HttpStatusCode last = default;
        while (inARow < times)
        {
            try
            {
                using var response = await http.GetAsync(path, ct);
                last = response.StatusCode;
                inARow = last == HttpStatusCode.OK ? inARow + 1 : 0;
            }
            catch (HttpRequestException) when (!ct.IsCancellationRequested)
            {
                inARow = 0;
            }
            if (inARow < times)
            {
                await Task.Delay(inARow == 0 ? 250 : 10, ct);
            }
        }
        Assert.Equal(HttpStatusCode.OK, last);
    }

    /// <summary>Polls Prometheus's /api/v1/targets until <paramref name="count"/> targets of job "inference" are up.</summary>
    private static async Task<IReadOnlyList<Target>> WaitForInferenceTargetsUpAsync(HttpClient prometheus, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            var body = JsonNode.Parse(await prometheus.GetStringAsync("/api/v1/targets?state=active", cancellationToken))!;
            var up = body["data"]!["activeTargets"]!.AsArray()
                .Where(t => t!["labels"]!["job"]!.GetValue<string>() == "inference" && t["health"]!.GetValue<string>() == "up")
                .Select(t => new Target(t!["labels"]!["instance"]!.GetValue<string>(), t["labels"]!["replica"]!.GetValue<string>()))
                .ToList();
            if (up.Count >= count)
            {
                return up;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }
}
