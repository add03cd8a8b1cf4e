using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Inference.Tests.Telemetry;

/// <summary>
/// A real OTLP/HTTP endpoint on loopback (POST /v1/metrics, /v1/traces, /v1/logs) that keeps every export body per
/// signal. Metric, span, event and attribute names are plain UTF-8 strings inside the protobuf, so the bodies are kept
/// as Latin-1 text for <see cref="WaitForAsync"/>'s matches.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _bodies = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>How many exports of <paramref name="signal"/> ("metrics", "traces", "logs") arrived.</summary>
    public int Exports(string signal) => _bodies.TryGetValue(signal, out var q) ? q.Count : 0;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver._bodies.GetOrAdd(signal, _ => new ConcurrentQueue<string>()).Enqueue(Encoding.Latin1.GetString(body.ToArray()));
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync(Ct);
        return receiver;
    }

    /// <summary>True once <paramref name="count"/> exports of <paramref name="signal"/> match, false after the timeout.</summary>
    public async Task<bool> WaitForAsync(string signal, Func<string, bool> match, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_bodies.TryGetValue(signal, out var q) && q.Count(match) >= count)
            {
                return true;
            }
            await Task.Delay(100, Ct);
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(Ct);
        await _app.DisposeAsync();
    }
}
