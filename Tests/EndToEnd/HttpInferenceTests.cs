using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Inference.Tests.EndToEnd;

/// <summary>KServe v2 over HTTP against the real server, the real ONNX Runtime backend and the small ResNet.</summary>
public sealed class HttpInferenceTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly long[] TinyShape = [1, 3, 64, 64];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task ServerMetadata_And_Health_AreServed()
    {
        var meta = JsonNode.Parse(await Http.GetStringAsync("/v2", Ct))!;
        Assert.Equal("aspire-inference", meta["name"]!.GetValue<string>());
        Assert.Contains("binary_tensor_data", meta["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/live", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task ModelMetadata_ReportsBatchDimensionAndTypes()
    {
        var meta = JsonNode.Parse(await Http.GetStringAsync("/v2/models/resnet_tiny", Ct))!;
        Assert.Equal("resnet_tiny", meta["name"]!.GetValue<string>());
        Assert.Equal(["1"], meta["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("onnxruntime_onnx", meta["platform"]!.GetValue<string>());
        var input = meta["inputs"]![0]!;
        Assert.Equal("input", input["name"]!.GetValue<string>());
        Assert.Equal("FP32", input["datatype"]!.GetValue<string>());
        Assert.Equal([-1L, 3, 64, 64], input["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal([-1L, 10], meta["outputs"]![0]!["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/resnet_tiny/versions/1/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task Config_ReturnsTheCompletedConfigWithTritonFieldNames()
    {
        var config = JsonNode.Parse(await Http.GetStringAsync("/v2/models/resnet_tiny/config", Ct))!;
        Assert.Equal(8, config["max_batch_size"]!.GetValue<int>());
        Assert.Equal("TYPE_FP32", config["input"]![0]!["data_type"]!.GetValue<string>());
        Assert.Equal("onnxruntime", config["backend"]!.GetValue<string>());
        Assert.NotNull(config["dynamic_batching"]);
    }

    [Fact]
    public async Task JsonInference_MatchesADirectOnnxRuntimeRun()
    {
        var data = Kserve.RandomFloats(3 * 64 * 64, seed: 1);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("input", TinyShape, data)) };
        using var response = await Http.PostAsync("/v2/models/resnet_tiny/infer", Kserve.Json(body), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        var output = json["outputs"]![0]!;
        Assert.Equal("logits", output["name"]!.GetValue<string>());
        Assert.Equal([1L, 10], output["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        var actual = output["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        Reference.AssertClose(Reference.Run(fixture.TinyModelPath, "input", TinyShape, data, "logits"), actual);
    }

    [Fact]
    public async Task BinaryInference_BothDirections_MatchesADirectOnnxRuntimeRun()
    {
        long[] shape = [2, 3, 64, 64];
        var data = Kserve.RandomFloats(2 * 3 * 64 * 64, seed: 2);
        using var response = await Http.PostAsync("/v2/models/resnet_tiny/infer", Kserve.Binary("input", shape, data, "logits"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (header, payload) = await Kserve.ReadBinaryAsync(response);
        Assert.Equal(80, header["outputs"]![0]!["parameters"]!["binary_data_size"]!.GetValue<int>());
        Reference.AssertClose(Reference.Run(fixture.TinyModelPath, "input", shape, data, "logits"), MemoryMarshal.Cast<byte, float>(payload));
    }

    [Fact]
    public async Task Classification_ReturnsTopNScoreIndexLabelStrings()
    {
        var data = Kserve.RandomFloats(3 * 64 * 64, seed: 3);
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(Kserve.JsonInput("input", TinyShape, data)),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "logits", ["parameters"] = new JsonObject { ["classification"] = 3 } }),
        };
        using var response = await Http.PostAsync("/v2/models/resnet_tiny/infer", Kserve.Json(body), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!;
        Assert.Equal("BYTES", output["datatype"]!.GetValue<string>());
        var entries = output["data"]!.AsArray().Select(v => v!.GetValue<string>().Split(':')).ToArray();
        Assert.Equal(3, entries.Length);
        var logits = Reference.Run(fixture.TinyModelPath, "input", TinyShape, data, "logits");
        var top = logits.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(3).ToArray();
        for (var k = 0; k < 3; k++)
        {
            Assert.Equal(top[k].i, int.Parse(entries[k][1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal($"class_{top[k].i:D4}", entries[k][2]);
        }
    }

    [Fact]
    public async Task ConcurrentRequests_AreBatched_AsTheStatisticsShow()
    {
        var before = JsonNode.Parse(await Http.GetStringAsync("/v2/models/resnet_tiny/stats", Ct))!["model_stats"]![0]!;
        var data = Kserve.RandomFloats(3 * 64 * 64, seed: 4);
        var tasks = Enumerable.Range(0, 32).Select(_ => Http.PostAsync("/v2/models/resnet_tiny/infer", Kserve.Binary("input", TinyShape, data, "logits"), Ct));
        foreach (var r in await Task.WhenAll(tasks))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        var after = JsonNode.Parse(await Http.GetStringAsync("/v2/models/resnet_tiny/stats", Ct))!["model_stats"]![0]!;
        var inferences = after["inference_count"]!.GetValue<long>() - before["inference_count"]!.GetValue<long>();
        var executions = after["execution_count"]!.GetValue<long>() - before["execution_count"]!.GetValue<long>();
        Assert.Equal(32, inferences);
        Assert.True(executions < inferences, $"32 concurrent requests ran in {executions} executions: no batching happened");
        Assert.Contains(after["batch_stats"]!.AsArray(), b => b!["batch_size"]!.GetValue<int>() > 1);
        Assert.True(after["inference_stats"]!["queue"]!["count"]!.GetValue<long>() >= 32);
    }

    [Fact]
    public async Task Overload_IsRejectedWith503_AndAcceptedRequestsComplete()
    {
        var data = Kserve.RandomFloats(16, seed: 5);
        var tasks = Enumerable.Range(0, 12).Select(_ => Http.PostAsync("/v2/models/queue_limited/infer", Kserve.Binary("INPUT0", [1, 16], data, "OUTPUT0"), Ct)).ToArray();
        var responses = await Task.WhenAll(tasks);
        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.NotEmpty(rejected);
        Assert.Contains("Exceeds maximum queue size", await Kserve.ErrorAsync(rejected[0]));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
    }

    [Fact]
    public async Task RepositoryIndex_ReportsTheBrokenModelUnavailableWithItsReason()
    {
        using var response = await Http.PostAsync("/v2/repository/index", Kserve.Json(new JsonObject()), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rows = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray();
        var broken = rows.Single(r => r!["name"]!.GetValue<string>() == "broken")!;
        Assert.Equal("UNAVAILABLE", broken["state"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(broken["reason"]!.GetValue<string>()));
        Assert.Contains(rows, r => r!["name"]!.GetValue<string>() == "resnet_tiny" && r["state"]!.GetValue<string>() == "READY");
    }
}
