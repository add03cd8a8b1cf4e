using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Inference.Server.ModelTools;
using Inference.Server.Telemetry;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Telemetry;

/// <summary>
/// A real Prometheus scrapes the real server (and the load generator's metrics) while load runs; every recording rule
/// and every Grafana panel query must return data. GPU panels return data only with a GPU: without one, their metric
/// names must be the documented NVML ones.
/// </summary>
public sealed partial class PrometheusIntegrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UnderLoad_EveryRecordingRuleAndDashboardQuery_ReturnsData()
    {
        if (!File.Exists(PrometheusServer.Binary))
        {
            Assert.Skip($"{PrometheusServer.Binary} is absent: install Debian's prometheus package (.ci/run does)");
        }

        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "identity", width: 16, maxBatchSize: 8, maxQueueDelayMicroseconds: 2000);
        // As under the AppHost, which sets OTEL_METRICS_EXEMPLAR_FILTER=trace_based for its projects.
        await using var server = await ServerHost.StartAsync(repository.Path, "--OTEL_METRICS_EXEMPLAR_FILTER=trace_based");
        await using var loadGenerator = await LoadGeneratorMetrics.StartAsync(Ct);
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, string[]>
        {
            ["inference.json"] = [server.MetricsAddress.Authority],
            ["loadtest.json"] = [loadGenerator.Address.Authority],
        }, Ct);

        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var load = Task.WhenAll(Enumerable.Range(0, 3).Select(i => SendLoadAsync(server, rows: i + 1, stopLoad.Token)));
        try
        {
            var gpuPresent = server.Services.GetRequiredService<GpuMetrics>().GpuUuids.Count > 0;
            var queries = RecordingRules().Select(r => (What: $"recording rule {r}", Expr: r)).ToList();
            foreach (var (panel, expr) in DashboardQueries())
            {
                var gpuNames = GpuMetricName().Matches(expr).Select(m => m.Value).ToList();
                if (gpuNames.Count > 0)
                {
                    Assert.All(gpuNames, n => Assert.Contains(n, GpuMetricsTests.GpuMetricNames));
                    if (!gpuPresent)
                    {
                        continue;
                    }
                }
                queries.Add(($"panel '{panel}'", expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal)));
            }

            await WaitForDataAsync(prometheus, queries);

            var targets = (await prometheus.GetAsync("api/v1/targets", Ct))["data"]!["activeTargets"]!.AsArray();
            Assert.Equal(["inference", "loadtest"], targets.Select(t => t!["labels"]!["job"]!.GetValue<string>()).Order());
            Assert.All(targets, t => Assert.Equal("up", t!["health"]!.GetValue<string>()));

            var rules = (await prometheus.GetAsync("api/v1/rules", Ct))["data"]!["groups"]!.AsArray()
                .SelectMany(g => g!["rules"]!.AsArray()).ToList();
            Assert.All(rules, r => Assert.True(r!["health"]!.GetValue<string>() == "ok", r.ToJsonString()));
            Assert.Equal(["GpuMemoryNearLimit", "InferenceErrorRatioHigh", "InferenceQueueTimeHigh", "InferenceReplicaDown"],
                rules.Where(r => r!["type"]!.GetValue<string>() == "alerting").Select(r => r!["name"]!.GetValue<string>()).Order());
            Assert.Equal(RecordingRules().Count, rules.Count(r => r!["type"]!.GetValue<string>() == "recording"));
        }
        finally
        {
            await stopLoad.CancelAsync();
            await load;
        }
    }

    [Fact]
    public void Dashboard_UsesTheProvisionedDatasource_AndEveryPanelHasAQuery()
    {
        var provisioning = File.ReadAllText(RepositoryFiles.Monitoring("grafana", "provisioning", "datasources", "prometheus.yml"));
        var uid = DatasourceUid().Match(provisioning).Groups[1].Value;
        Assert.Equal("prometheus", uid);
        var dashboard = JsonNode.Parse(File.ReadAllText(RepositoryFiles.Monitoring("grafana", "dashboards", "inference.json")))!;
        Assert.False(string.IsNullOrEmpty(dashboard["uid"]?.GetValue<string>()));
        var panels = Panels(dashboard).Where(p => p["type"]!.GetValue<string>() != "row").ToList();
        Assert.True(panels.Count >= 15, $"{panels.Count} panels");
        Assert.Equal(panels.Count, panels.Select(p => p["id"]!.GetValue<int>()).Distinct().Count());
        foreach (var panel in panels)
        {
            Assert.Equal(uid, panel["datasource"]!["uid"]!.GetValue<string>());
            var targets = panel["targets"]!.AsArray();
            Assert.NotEmpty(targets);
            Assert.All(targets, t => Assert.False(string.IsNullOrWhiteSpace(t!["expr"]?.GetValue<string>())));
        }
        // The panels the issue asks for, by title.
        string[] required =
        [
            "Inferences/s by replica", "Requests/s: success vs failure", "Request latency p50 / p99", "Queue vs compute time per request",
            "Average batch size", "Pending requests", "GPU utilization", "GPU memory", "GPU power", "Active replicas",
            "Load generator requests/s by status",
        ];
        Assert.All(required, title => Assert.Contains(panels, p => p["title"]!.GetValue<string>() == title));
    }

    private static async Task SendLoadAsync(ServerHost server, int rows, CancellationToken stop)
    {
        var data = Kserve.RandomFloats(rows * 16, seed: rows);
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var response = await server.Http.PostAsync("/v2/models/identity/infer", Kserve.Binary("INPUT0", [rows, 16], data, "OUTPUT0"), stop);
                LoadGeneratorMetrics.Record(response.StatusCode == HttpStatusCode.OK, Stopwatch.GetElapsedTime(started));
                // Pacing, so that three loops do not starve Prometheus of the machine's two cores.
                await Task.Delay(5, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static async Task WaitForDataAsync(PrometheusServer prometheus, List<(string What, string Expr)> queries)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        var pending = queries.ToList();
        while (true)
        {
            var stillEmpty = new List<(string What, string Expr)>();
            foreach (var q in pending)
            {
                var result = await prometheus.QueryAsync(q.Expr, Ct);
                // Data: at least one series with a number (NaN would mean 0/0 or a quantile over no observations).
                if (!result.Any(s => !double.IsNaN(double.Parse(s!["value"]![1]!.GetValue<string>(), CultureInfo.InvariantCulture))))
                {
                    stillEmpty.Add(q);
                }
            }
            if (stillEmpty.Count == 0)
            {
                return;
            }
            if (timeout.IsCancellationRequested)
            {
                var targets = (await prometheus.GetAsync("api/v1/targets", Ct))["data"]!["activeTargets"]!.AsArray()
                    .Select(t => $"  {t!["scrapeUrl"]}: {t["health"]} {t["lastError"]}");
                Assert.Fail("no data after 90 s for:\n" + string.Join('\n', stillEmpty.Select(q => $"  {q.What}: {q.Expr}"))
                    + "\ntargets:\n" + string.Join('\n', targets) + "\nprometheus output:\n" + prometheus.Output);
            }
            pending = stillEmpty;
            await Task.Delay(500, CancellationToken.None);
        }
    }

    private static List<string> RecordingRules() =>
        [.. RecordRule().Matches(File.ReadAllText(RepositoryFiles.Monitoring("prometheus", "rules", "inference.rules.yml"))).Select(m => m.Groups[1].Value)];

    private static IEnumerable<(string Panel, string Expr)> DashboardQueries()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(RepositoryFiles.Monitoring("grafana", "dashboards", "inference.json")))!;
        foreach (var panel in Panels(dashboard))
        {
            foreach (var target in panel["targets"]?.AsArray() ?? [])
            {
                yield return (panel["title"]!.GetValue<string>(), target!["expr"]!.GetValue<string>());
            }
        }
    }

    private static IEnumerable<JsonNode> Panels(JsonNode dashboard)
    {
        foreach (var panel in dashboard["panels"]!.AsArray())
        {
            yield return panel!;
            foreach (var nested in panel!["panels"]?.AsArray() ?? [])
            {
                yield return nested!;
            }
        }
    }

    [GeneratedRegex(@"^\s*-\s*record:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RecordRule();

    [GeneratedRegex(@"\bnv_(gpu|energy)_\w+")]
    private static partial Regex GpuMetricName();

    [GeneratedRegex(@"uid:\s*(\S+)")]
    private static partial Regex DatasourceUid();
}
