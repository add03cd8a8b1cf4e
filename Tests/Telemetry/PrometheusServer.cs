using System.Text.Json;
using System.Text.Json.Nodes;

namespace Inference.Tests.Telemetry;

/// <summary>
/// A real Prometheus (Debian's /usr/bin/prometheus) over a copy of monitoring/prometheus with scrape and evaluation
/// intervals shortened to 1 s, the given file_sd targets, temporary storage and a free port on 127.0.0.1.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly string _directory;
    private readonly ExternalProcess _process;

    private PrometheusServer(string directory, ExternalProcess process, Uri address)
    {
        _directory = directory;
        _process = process;
        Http = new HttpClient { BaseAddress = address };
    }

    public HttpClient Http { get; }

    public string Output => _process.Output;

    /// <param name="targets">file_sd file name (e.g. "inference.json") to "host:port" targets.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string[]> targets, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "aspire-inference-tests", "prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "rules"));
        Directory.CreateDirectory(Path.Combine(directory, "targets"));
        var config = await File.ReadAllTextAsync(RepositoryFiles.Monitoring("prometheus", "prometheus.yml"), cancellationToken);
        Assert.Contains("scrape_interval: 5s", config);
        Assert.Contains("evaluation_interval: 5s", config);
        config = config.Replace("scrape_interval: 5s", "scrape_interval: 1s", StringComparison.Ordinal)
            .Replace("evaluation_interval: 5s", "evaluation_interval: 1s", StringComparison.Ordinal);
        var configPath = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, config, cancellationToken);
        foreach (var rules in Directory.GetFiles(RepositoryFiles.Monitoring("prometheus", "rules"), "*.yml"))
        {
            File.Copy(rules, Path.Combine(directory, "rules", Path.GetFileName(rules)));
        }
        foreach (var (file, hosts) in targets)
        {
            var json = new JsonArray(new JsonObject { ["targets"] = new JsonArray([.. hosts.Select(h => (JsonNode)h)]) });
            await File.WriteAllTextAsync(Path.Combine(directory, "targets", file), json.ToJsonString(), cancellationToken);
        }

        var port = ExternalProcess.FreePort();
        var process = ExternalProcess.Start(Binary,
            "--config.file=" + configPath,
            "--storage.tsdb.path=" + Path.Combine(directory, "data"),
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn");
        var server = new PrometheusServer(directory, process, new Uri($"http://127.0.0.1:{port}/"));
        await server.WaitUntilReadyAsync(cancellationToken);
        return server;
    }

    /// <summary>Runs an instant query; returns the result vector (empty when the query has no data).</summary>
    public async Task<JsonArray> QueryAsync(string promQl, CancellationToken cancellationToken)
    {
        var body = await GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promQl), cancellationToken);
        return body["data"]!["result"]!.AsArray();
    }

    /// <summary>GETs an API path and checks Prometheus' status field.</summary>
    public async Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(path, cancellationToken);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!;
        Assert.True(body["status"]?.GetValue<string>() == "success", $"{path}: {body.ToJsonString(new JsonSerializerOptions { WriteIndented = true })}");
        return body;
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            Assert.False(_process.HasExited, "prometheus exited:\n" + Output);
            Assert.False(timeout.IsCancellationRequested, "prometheus not ready in 60 s:\n" + Output);
            try
            {
                using var response = await Http.GetAsync("-/ready", timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(50, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
