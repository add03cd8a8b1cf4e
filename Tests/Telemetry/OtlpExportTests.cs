using System.Net;
using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Telemetry;

/// <summary>
/// The server's metrics over OTLP (what the Aspire dashboard's Metrics page shows), into a real OTLP/HTTP receiver on
/// loopback: every periodic export arrives and carries Triton's counters and the histograms. The OTLP exporter and the
/// SDK must be the same OpenTelemetry release: with exporter 1.20.0 over SDK 1.20.1 every batch holding a histogram
/// was dropped (MissingFieldException: HistogramBuckets.BucketCounts), so the dashboard showed no metrics at all.
/// </summary>
public sealed class OtlpExportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PeriodicExports_CarryCountersAndHistograms_AfterInferences()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var repository = new TempDirectory();
        IdentityModelBuilder.Write(repository.Path, "exported", width: 4, maxBatchSize: 4, maxQueueDelayMicroseconds: 0);
        await using var server = await ServerHost.StartAsync(repository.Path,
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={receiver.Address}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_METRIC_EXPORT_INTERVAL=200");

        for (var i = 0; i < 3; i++)
        {
            var response = await server.Http.PostAsync("/v2/models/exported/infer",
                Kserve.Json(new System.Text.Json.Nodes.JsonObject { ["inputs"] = new System.Text.Json.Nodes.JsonArray(Kserve.JsonInput("INPUT0", [1, 4], [1, 2, 3, 4])) }), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Three exports after the requests, each with the model's counter and its latency histogram.
        var seen = await receiver.WaitForAsync("metrics", body => body.Contains("nv_inference_request_success", StringComparison.Ordinal)
            && body.Contains("nv_inference_request_duration_seconds", StringComparison.Ordinal)
            && body.Contains("exported", StringComparison.Ordinal), count: 3, TimeSpan.FromSeconds(30));
        Assert.True(seen, $"expected 3 OTLP metric exports with the counters and histograms; got {receiver.Exports("metrics")} exports");
    }
}
