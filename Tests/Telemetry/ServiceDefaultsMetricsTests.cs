using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Telemetry;

/// <summary>What the service defaults' OpenTelemetry metrics collect from ASP.NET Core on the real server: the request
/// instruments, not Kestrel's memory-pool counters (updated for every 4 KB block of every request body).</summary>
public sealed class ServiceDefaultsMetricsTests
{
    [Fact]
    public async Task KestrelMemoryPoolInstruments_AreNotCollected_WhileTheRequestDurationIs()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "identity", width: 16, maxBatchSize: 8);
        // Only watches what is published; enabling is left to the server's own meter provider.
        var published = new ConcurrentBag<Instrument>();
        using var listener = new MeterListener { InstrumentPublished = (instrument, _) => published.Add(instrument) };
        listener.Start();

        await using var server = await ServerHost.StartAsync(repository.Path);
        using var body = Kserve.Json(new System.Text.Json.Nodes.JsonObject
        {
            ["inputs"] = new System.Text.Json.Nodes.JsonArray(Kserve.JsonInput("INPUT0", [1, 16], new float[16])),
        });
        using var reply = await server.Http.PostAsync("v2/models/identity/infer", body, ct);
        reply.EnsureSuccessStatusCode();

        var factory = server.Services.GetRequiredService<IMeterFactory>();
        var mine = published.Where(i => ReferenceEquals(i.Meter.Scope, factory)).ToList();
        var pool = mine.Where(i => i.Meter.Name == Microsoft.Extensions.Hosting.Extensions.KestrelMemoryPoolMeter).ToList();
        Assert.NotEmpty(pool);
        Assert.All(pool, i => Assert.False(i.Enabled, $"{i.Name} is collected"));
        Assert.Contains(mine, i => i.Name == "http.server.request.duration" && i.Enabled);
    }
}
