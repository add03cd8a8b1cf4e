using System.Net;
using System.Text.Json.Nodes;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>model_warmup in config.pbtxt: samples run before a model reports ready, and a bad sample keeps the
/// model from loading with the reason in the repository index.</summary>
public sealed class ModelWarmupTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    private static string Warmup(string input, string data) =>
        $$"""model_warmup [{ name: "w" batch_size: 2 inputs { key: "{{input}}" value { data_type: TYPE_FP32 dims: [16] {{data}} } } }]""";

    [Fact]
    public async Task WarmupSamples_RunBeforeReady_AndBadSamplesFailTheLoadWithAReason()
    {
        E2E.WriteIdentity(_repository.Path, "warm_zero", Warmup("INPUT0", "zero_data: true"));
        E2E.WriteIdentity(_repository.Path, "warm_random", Warmup("INPUT0", "random_data: true"));
        var fromFile = E2E.WriteIdentity(_repository.Path, "warm_file", Warmup("INPUT0", "input_data_file: \"sample.bin\""));
        Directory.CreateDirectory(Path.Combine(fromFile, "warmup"));
        File.WriteAllBytes(Path.Combine(fromFile, "warmup", "sample.bin"), new byte[2 * 16 * sizeof(float)]);
        E2E.WriteIdentity(_repository.Path, "warm_unknown_input", Warmup("NOPE", "zero_data: true"));
        // Only running the sample finds a missing data file: this one proves that the warmup runs at load.
        E2E.WriteIdentity(_repository.Path, "warm_missing_file", Warmup("INPUT0", "input_data_file: \"absent.bin\""));
        await using var server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false");

        var index = await IndexAsync(server.Http);

        foreach (var ready in new[] { "warm_zero", "warm_random", "warm_file" })
        {
            Assert.Equal("READY", index[ready].State);
            await AssertServesAsync(server.Http, ready);
        }
        Assert.Equal("UNAVAILABLE", index["warm_unknown_input"].State);
        Assert.Contains("model_warmup[0].inputs[\"NOPE\"]: 'NOPE' is not an input of model 'warm_unknown_input'", index["warm_unknown_input"].Reason, StringComparison.Ordinal);
        Assert.Equal("UNAVAILABLE", index["warm_missing_file"].State);
        Assert.Contains("warmup 'w': input 'INPUT0': input_data_file 'warm_missing_file/warmup/absent.bin' does not exist",
            index["warm_missing_file"].Reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/warm_unknown_input/ready", Ct)).StatusCode);
    }

    private static async Task AssertServesAsync(HttpClient http, string model)
    {
        var data = Kserve.RandomFloats(32, seed: 3);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [2, 16], data)) };
        using var response = await http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(data, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()));
    }

    private static async Task<Dictionary<string, (string State, string Reason)>> IndexAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v2/repository/index", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray()
            .ToDictionary(r => r!["name"]!.GetValue<string>(), r => (r!["state"]!.GetValue<string>(), r["reason"]!.GetValue<string>()));
    }
}
