using System.Globalization;

namespace LoadTest.Reliability;

/// <summary>Reads Triton's per-model gauges from the server's Prometheus text (<c>/metrics</c> on the HTTP port).</summary>
public static class ServerMetrics
{
    public const string PendingRequestCount = "nv_inference_pending_request_count";

    /// <summary>The sum of <paramref name="metric"/> over the series of <paramref name="model"/> (all models when null);
    /// null when the scrape failed or has no such series.</summary>
    public static async Task<double?> SumAsync(HttpClient http, Uri server, string metric, string? model, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            text = await http.GetStringAsync(new Uri(server, "/metrics"), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) || (model is not null && !line.Contains($"model=\"{model}\"", StringComparison.Ordinal)))
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                sum = (sum ?? 0) + v;
            }
        }
        return sum;
    }

    /// <summary>Waits until the pending-request gauge of <paramref name="model"/> (all models when null) reads 0, for up
    /// to <paramref name="timeout"/>; returns the last reading (null: unreadable).</summary>
    public static async Task<double?> WaitForNoPendingAsync(HttpClient http, Uri server, string? model, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        double? last;
        while (true)
        {
            last = await SumAsync(http, server, PendingRequestCount, model, cancellationToken).ConfigureAwait(false);
            if (last == 0 || DateTime.UtcNow > deadline)
            {
                return last;
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }
}
