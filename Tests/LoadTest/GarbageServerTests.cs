using System.Text.Json;
using Inference.Tests.ModelTools;
using LoadTest.Cli;
using LoadTest.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Inference.Tests.LoadTest;

public sealed class GarbageServerTests
{
    /// <summary>A KServe look-alike on loopback whose metadata is right but whose infer answer is <paramref name="infer"/>.</summary>
    private static async Task<WebApplication> StartAsync(string infer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/v2/models/m", () => Results.Text("""{"name":"m","versions":["1"],"platform":"x","inputs":[{"name":"IN","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"OUT","datatype":"FP32","shape":[-1,4]}]}""", "application/json"));
        app.MapGet("/v2/models/m/config", () => Results.Text("""{"name":"m","max_batch_size":8}""", "application/json"));
        app.MapPost("/v2/models/m/infer", () => Results.Text(infer, "application/json"));
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    [Theory]
    [InlineData("""{"outputs":[{"name":"OUT","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}""", "invalid-response:shape")]
    [InlineData("""{"outputs":[{"name":"OUT","datatype":"FP32","shape":[1,4],"data":[1,2,3]}]}""", "invalid-response:size")]
    [InlineData("""{"outputs":[]}""", "invalid-response:missing-output")]
    [InlineData("""not json at all""", "invalid-response:malformed")]
    public async Task Run_ServerAnsweringGarbage_FailsWithExitCodeOne(string infer, string error)
    {
        await using var app = await StartAsync(infer);
        using var output = new TempDirectory();

        var code = await LoadTestCommand.RunAsync(["--url", Address(app), "--protocol", "http-json", "-m", "m", "--concurrency", "2",
            "--duration", "0.5", "--warmup", "0", "-p", "250", "--output-dir", output.Path, "-q"], TestContext.Current.CancellationToken);

        Assert.Equal(1, code);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output.Combine("results.json"), TestContext.Current.CancellationToken));
        var level = json.RootElement.GetProperty("levels")[0];
        Assert.Equal(0, level.GetProperty("successes").GetInt64());
        Assert.True(level.GetProperty("errors").GetProperty(error).GetInt64() > 0);
    }

    [Fact]
    public async Task Run_ServerAnsweringCorrectly_Passes()
    {
        await using var app = await StartAsync("""{"outputs":[{"name":"OUT","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}""");

        var code = await LoadTestCommand.RunAsync(["--url", Address(app), "--protocol", "http-json", "-m", "m", "--concurrency", "1",
            "--duration", "0.3", "--warmup", "0", "-p", "300", "-q", "--expect-top1", "3"], TestContext.Current.CancellationToken);

        Assert.Equal(0, code);
    }

    [Fact]
    public async Task MetricsExport_ServesThePrometheusNames()
    {
        var port = FreePort();
        await using var export = await MetricsExport.StartAsync(port, TestContext.Current.CancellationToken);
        LoadTestMetrics.RecordSuccess(0.002);
        LoadTestMetrics.RecordFailure("http-503", 0.001);
        using var http = new HttpClient();

        var text = await http.GetStringAsync(export.ScrapeUri, TestContext.Current.CancellationToken);

        Assert.Contains("loadtest_requests_total{", text);
        Assert.Contains("status=\"ok\"", text);
        Assert.Contains("status=\"http-503\"", text);
        Assert.Contains("loadtest_latency_seconds_bucket{", text);
        Assert.Contains("le=\"0.0025\"", text);
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }
}
