using System.Net;
using System.Text.Json.Nodes;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Inference.Tests.Telemetry;

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
        await using var receiver = await OtlpReceiver.StartAsync();
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
        var seen = await receiver.WaitForAsync("traces", body => expected.All(e => body.Contains(e, StringComparison.Ordinal)), count: 1, TimeSpan.FromSeconds(30));
        Assert.True(seen, $"expected an OTLP trace export with Triton's spans and events; got {receiver.Exports("traces")} exports");
    }
}
