using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Inference.Tests.Tracing;

/// <summary>Trace mode opentelemetry: sampled requests become Triton's spans (InferRequest, the model's, compute) with
/// their timestamps as events, exported over OTLP (what the Aspire dashboard receives) into a real OTLP/HTTP receiver
/// on loopback.</summary>
public sealed class TraceSpansTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OpenTelemetryMode_ExportsTritonsSpansWithTheTimestampEvents()
    {
        await using var receiver = await SpanReceiver.StartAsync();
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "spanned", width: 4);
        await using var server = await ServerHost.StartAsync(repository.Path,
            "--trace-config", "mode=opentelemetry", "--trace-config", "level=TIMESTAMPS", "--trace-config", "rate=1",
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={receiver.Address}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_BSP_SCHEDULE_DELAY=200");

        var setting = JsonNode.Parse(await server.Http.GetStringAsync("/v2/trace/setting", Ct))!.AsObject();
        Assert.Equal("opentelemetry", setting["trace_mode"]!.GetValue<string>());
        Assert.Null(setting["trace_file"]);

        using var response = await server.Http.PostAsync("/v2/models/spanned/infer", Kserve.Json(new JsonObject
        {
            ["id"] = "otel-1",
            ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 4], [1, 2, 3, 4])),
        }), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        string[] expected = ["InferRequest", "spanned", "compute", "triton.model_name", "triton.request_id", "otel-1",
            "REQUEST_START", "QUEUE_START", "COMPUTE_START", "COMPUTE_INPUT_END", "COMPUTE_OUTPUT_START", "COMPUTE_END", "REQUEST_END"];
        var seen = await receiver.WaitForAsync(body => expected.All(e => body.Contains(e, StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
        Assert.True(seen, $"expected an OTLP trace export with Triton's spans and events; got {receiver.Exports} exports");
    }

    /// <summary>An OTLP/HTTP endpoint that keeps the trace bodies (names are plain UTF-8 inside the protobuf).</summary>
    private sealed class SpanReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<string> _traces = new();

        private SpanReceiver(WebApplication app) => _app = app;

        public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        public int Exports => _traces.Count;

        public static async Task<SpanReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new SpanReceiver(app);
            app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                if (signal == "traces")
                {
                    receiver._traces.Enqueue(Encoding.Latin1.GetString(body.ToArray()));
                }
                return Results.Bytes([], "application/x-protobuf");
            });
            await app.StartAsync(Ct);
            return receiver;
        }

        public async Task<bool> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (_traces.Any(match))
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
}
