using System.Net.Http.Json;
using System.Text.Json;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace LoadTest.Tune;

/// <summary>The server's repository extension over HTTP (explicit model control): load a model with a config
/// override, unload it; and the GPU gauges of its Prometheus metrics.</summary>
public sealed class RepositoryClient(Uri address) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = address, Timeout = TimeSpan.FromMinutes(15) };

    /// <summary>Loads <paramref name="config"/>'s model with it as the override; null on success, else the server's
    /// answer (status and error).</summary>
    public async Task<string?> LoadAsync(ModelConfig config, CancellationToken cancellationToken)
    {
        var body = new Dictionary<string, object> { ["parameters"] = new Dictionary<string, string> { ["config"] = ModelConfigJson.ToJson(config) } };
        try
        {
            using var response = await _http.PostAsJsonAsync($"/v2/repository/models/{config.Name}/load", body, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {await ErrorText(response, cancellationToken)}";
        }
        catch (HttpRequestException e)
        {
            return "the server did not answer the load request: " + e.Message;
        }
    }

    /// <summary>Unloads <paramref name="model"/>; null on success, else the server's answer.</summary>
    public async Task<string?> UnloadAsync(string model, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.PostAsync($"/v2/repository/models/{model}/unload", new StringContent("{}"), cancellationToken);
            return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {await ErrorText(response, cancellationToken)}";
        }
        catch (HttpRequestException e)
        {
            return "the server did not answer the unload request: " + e.Message;
        }
    }

    /// <summary>One scrape of the server's GPU gauges: <c>nv_gpu_memory_used_bytes</c> summed over GPUs and
    /// <c>nv_gpu_utilization</c> (0..1) averaged over them; both null when the server exports no GPU metrics (no GPU,
    /// or NVML missing) or the scrape fails.</summary>
    public async Task<(double? MemoryUsedBytes, double? Utilization)> ReadGpuAsync(CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await _http.GetStringAsync("/metrics", cancellationToken);
        }
        catch (HttpRequestException)
        {
            return (null, null);
        }
        return (Aggregate(text, "nv_gpu_memory_used_bytes", average: false), Aggregate(text, "nv_gpu_utilization", average: true));
    }

    /// <summary>The sum (or mean) of a gauge's series in Prometheus text; null when it has none.</summary>
    public static double? Aggregate(string metricsText, string metric, bool average)
    {
        var values = new List<double>();
        foreach (var line in metricsText.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) && space > 0
                && double.TryParse(line[(space + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v))
            {
                values.Add(v);
            }
        }
        return values.Count == 0 ? null : average ? values.Average() : values.Sum();
    }

    private static async Task<string> ErrorText(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? text : text;
        }
        catch (JsonException)
        {
            return text;
        }
    }

    public void Dispose() => _http.Dispose();
}
