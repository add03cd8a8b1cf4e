using System.Net;
using System.Net.Sockets;
using LoadTest.Telemetry;

namespace Inference.Tests.Telemetry;

/// <summary>
/// The load generator's own client metrics (<see cref="LoadTestMetrics"/>, exported by LoadTest's
/// <see cref="MetricsExport"/> on a free port), fed by the test's load loop, so the dashboard's load-generator
/// panels are checked against what LoadTest really exposes.
/// </summary>
internal sealed class LoadGeneratorMetrics : IAsyncDisposable
{
    private readonly MetricsExport _export;

    private LoadGeneratorMetrics(MetricsExport export, Uri address)
    {
        _export = export;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<LoadGeneratorMetrics> StartAsync(CancellationToken cancellationToken)
    {
        var port = FreePort();
        var export = await MetricsExport.StartAsync(port, cancellationToken);
        return new LoadGeneratorMetrics(export, new Uri($"http://127.0.0.1:{port}/metrics"));
    }

    public static void Record(bool ok, TimeSpan latency)
    {
        if (ok)
        {
            LoadTestMetrics.RecordSuccess(latency.TotalSeconds);
        }
        else
        {
            LoadTestMetrics.RecordFailure("error", latency.TotalSeconds);
        }
    }

    public ValueTask DisposeAsync() => _export.DisposeAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
