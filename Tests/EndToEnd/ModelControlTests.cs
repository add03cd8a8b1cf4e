using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Model control against real servers over their own temporary repositories: explicit load/unload (with config
/// overrides and failures), mode none refusing control, poll mode following the disk, version policies and
/// auto-completed configs.
/// </summary>
public sealed class ModelControlTests : IDisposable
{
    private const string InvalidConfig = "name: \"identity\"\nmax_batch_size: 8\ninput [ { name: \"INPUT0\" data_type: TYPE_NOPE dims: [ 16 ] } ]\n";

    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    [Fact]
    public async Task Explicit_LoadsOnlyTheNamedModels_AndLoadUnloadChangeWhatIsServed()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        E2E.WriteIdentity(_repository.Path, "other");
        Inference.Server.ModelTools.DefaultModelRepository.WriteSmallModel(_repository.Path, "resnet_tiny", maxBatchSize: 8);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
        var http = server.Http;

        var index = await IndexAsync(http);
        Assert.Equal(("1", "READY"), index["identity"]);
        Assert.Equal(("", ""), index["other"]);
        Assert.Equal(("", ""), index["resnet_tiny"]);
        Assert.True((await http.GetAsync("/v2/health/ready", Ct)).IsSuccessStatusCode);
        await E2E.AssertErrorAsync(await InferAsync(http, "resnet_tiny", [1, 3, 64, 64]), HttpStatusCode.NotFound, "'resnet_tiny' is not found");

        using (var load = await http.PostAsync("/v2/repository/models/resnet_tiny/load", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        Assert.Equal(("1", "READY"), (await IndexAsync(http))["resnet_tiny"]);
        using (var infer = await InferAsync(http, "resnet_tiny", [1, 3, 64, 64]))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
            Assert.Equal([1L, 10], JsonNode.Parse(await infer.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        }

        using (var unload = await http.PostAsync("/v2/repository/models/resnet_tiny/unload", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v2/models/resnet_tiny/ready", Ct)).StatusCode);
        await E2E.AssertErrorAsync(await InferAsync(http, "resnet_tiny", [1, 3, 64, 64]), HttpStatusCode.NotFound,
            "model 'resnet_tiny' has no available versions: unloaded");
        var row = (await IndexRowsAsync(http)).Single(r => r["name"]!.GetValue<string>() == "resnet_tiny");
        Assert.Equal("UNAVAILABLE", row["state"]!.GetValue<string>());
        Assert.Equal("unloaded", row["reason"]!.GetValue<string>());
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/repository/models/no_such_model/unload", null, Ct), HttpStatusCode.NotFound,
            "failed to unload 'no_such_model': no such model in the repository");
        await AssertIdentityServesAsync(http, "identity");
    }

    [Fact]
    public async Task Explicit_LoadWithAConfigOverride_ServesTheOverriddenConfig()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit");
        var http = server.Http;
        var body = new JsonObject { ["parameters"] = new JsonObject { ["config"] = """{"backend":"onnxruntime","max_batch_size":2}""" } };

        using (var load = await http.PostAsync("/v2/repository/models/identity/load", Kserve.Json(body), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        var config = JsonNode.Parse(await http.GetStringAsync("/v2/models/identity/config", Ct))!;
        Assert.Equal(2, config["max_batch_size"]!.GetValue<int>());
        Assert.Equal("INPUT0", config["input"]![0]!["name"]!.GetValue<string>());
        Assert.Equal([16L], config["input"]![0]!["dims"]!.AsArray().Select(d => d!.GetValue<long>()));
        await E2E.AssertErrorAsync(await InferAsync(http, "identity", [3, 16]), HttpStatusCode.BadRequest, "batch size 3 exceeds maximum batch size 2 of model 'identity'");
        await AssertIdentityServesAsync(http, "identity", rows: 2);

        var bad = new JsonObject { ["parameters"] = new JsonObject { ["config"] = """{"max_batch_size":"many"}""" } };
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/repository/models/identity/load", Kserve.Json(bad), Ct), HttpStatusCode.BadRequest,
            "failed to load 'identity': invalid config override");
        Assert.Equal(2, JsonNode.Parse(await http.GetStringAsync("/v2/models/identity/config", Ct))!["max_batch_size"]!.GetValue<int>());
    }

    [Fact]
    public async Task Explicit_LoadOfAnInvalidConfig_Is400NamingFileAndLine_AndTheServerStillServes()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        var broken = E2E.WriteIdentity(_repository.Path, "bad_config");
        File.WriteAllText(Path.Combine(broken, "config.pbtxt"), InvalidConfig);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");

        var message = await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/bad_config/load", null, Ct), HttpStatusCode.BadRequest,
            "bad_config/config.pbtxt:3:", "TYPE_NOPE");
        Assert.DoesNotContain(_repository.Path, message, StringComparison.Ordinal);

        var row = (await IndexRowsAsync(server.Http)).Single(r => r["name"]!.GetValue<string>() == "bad_config");
        Assert.Equal("UNAVAILABLE", row["state"]!.GetValue<string>());
        Assert.Equal(message, row["reason"]!.GetValue<string>());
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "bad_config" }, cancellationToken: Ct),
            StatusCode.InvalidArgument, "config.pbtxt:3:");
        await AssertIdentityServesAsync(server.Http, "identity");
    }

    [Fact]
    public async Task Explicit_FailedReload_KeepsTheOldVersionServing()
    {
        var folder = E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
        await AssertIdentityServesAsync(server.Http, "identity");

        File.WriteAllText(Path.Combine(folder, "config.pbtxt"), InvalidConfig);
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/identity/load", null, Ct), HttpStatusCode.BadRequest,
            "identity/config.pbtxt:3:");

        await AssertIdentityServesAsync(server.Http, "identity");
        Assert.Equal(("1", "READY"), (await IndexAsync(server.Http))["identity"]);
        Assert.Equal(8, JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/identity/config", Ct))!["max_batch_size"]!.GetValue<int>());
    }

    [Fact]
    public async Task NoneMode_LoadAndUnload_AreRejectedWithTheReason()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path);
        const string Reason = "is not allowed in model control mode 'none'; start the server with --model-control-mode=explicit";

        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/identity/load", null, Ct), HttpStatusCode.NotImplemented, "explicit model load " + Reason);
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/identity/unload", null, Ct), HttpStatusCode.NotImplemented, "explicit model unload " + Reason);
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "identity" }, cancellationToken: Ct),
            StatusCode.Unimplemented, "explicit model load " + Reason);
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "identity" }, cancellationToken: Ct),
            StatusCode.Unimplemented, "explicit model unload " + Reason);
        await AssertIdentityServesAsync(server.Http, "identity");
    }

    [Fact]
    public async Task Poll_ANewModelFolder_BecomesReady()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=poll", "--repository-poll-secs=1");
        Assert.False(await IsReadyAsync(server.Http, "added"));

        E2E.WriteIdentity(_repository.Path, "added");

        await E2E.WaitUntilAsync(() => IsReadyAsync(server.Http, "added"), "the added model is ready");
        await AssertIdentityServesAsync(server.Http, "added");
        await AssertIdentityServesAsync(server.Http, "identity");
    }

    [Fact]
    public async Task Poll_ABrokenConfig_KeepsTheOldVersionServing()
    {
        var folder = E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=poll", "--repository-poll-secs=1");

        File.WriteAllText(Path.Combine(folder, "config.pbtxt"), InvalidConfig);
        // The index keeps the old version READY and says why the reload failed.
        await E2E.WaitUntilAsync(async () => (await IndexRowsAsync(server.Http)).Any(r =>
                r["name"]!.GetValue<string>() == "identity" && r["reason"]!.GetValue<string>().Contains("reload failed", StringComparison.Ordinal)),
            "the index reports the failed reload");

        await AssertIdentityServesAsync(server.Http, "identity");
        Assert.Equal(("1", "READY"), (await IndexAsync(server.Http))["identity"]);
    }

    [Fact]
    public async Task Poll_ARemovedModelFolder_IsUnloaded()
    {
        var folder = E2E.WriteIdentity(_repository.Path, "removed");
        E2E.WriteIdentity(_repository.Path, "identity");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=poll", "--repository-poll-secs=1");
        await AssertIdentityServesAsync(server.Http, "removed");

        Directory.Delete(folder, recursive: true);

        await E2E.WaitUntilAsync(async () => !(await IndexAsync(server.Http)).ContainsKey("removed"), "the removed model leaves the index");
        Assert.False(await IsReadyAsync(server.Http, "removed"));
        await E2E.AssertErrorAsync(await InferAsync(server.Http, "removed", [1, 16]), HttpStatusCode.NotFound, "Request for unknown model: 'removed' is not found");
        await AssertIdentityServesAsync(server.Http, "identity");
    }

    [Fact]
    public async Task VersionPolicy_AllServesEveryVersion_TheDefaultOnlyTheLatest()
    {
        E2E.WriteIdentity(_repository.Path, "all_versions", "version_policy: { all: {} }", versions: [1, 2]);
        E2E.WriteIdentity(_repository.Path, "latest_only", versions: [1, 2]);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var http = server.Http;

        Assert.Equal(["1", "2"], JsonNode.Parse(await http.GetStringAsync("/v2/models/all_versions", Ct))!["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("1", await ServedVersionAsync(http, "/v2/models/all_versions/versions/1/infer"));
        Assert.Equal("2", await ServedVersionAsync(http, "/v2/models/all_versions/versions/2/infer"));
        Assert.Equal("2", await ServedVersionAsync(http, "/v2/models/all_versions/infer"));

        Assert.Equal(["2"], JsonNode.Parse(await http.GetStringAsync("/v2/models/latest_only", Ct))!["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("2", await ServedVersionAsync(http, "/v2/models/latest_only/infer"));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/v2/models/latest_only/versions/1/ready", Ct)).StatusCode);
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/models/latest_only/versions/1/infer", IdentityBody([1, 16]), Ct), HttpStatusCode.NotFound,
            "'latest_only' version 1 is not found");
    }

    [Fact]
    public async Task MissingConfig_IsAutoCompletedFromTheModel()
    {
        E2E.WriteIdentity(_repository.Path, "no_config", withConfig: false);
        Assert.False(File.Exists(_repository.Combine("no_config", "config.pbtxt")));
        await using var server = await ServerHost.StartAsync(_repository.Path);

        var config = JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/no_config/config", Ct))!;

        Assert.Equal("no_config", config["name"]!.GetValue<string>());
        Assert.Equal(4, config["max_batch_size"]!.GetValue<int>());
        var input = config["input"]![0]!;
        Assert.Equal(("INPUT0", "TYPE_FP32"), (input["name"]!.GetValue<string>(), input["data_type"]!.GetValue<string>()));
        Assert.Equal([16L], input["dims"]!.AsArray().Select(d => d!.GetValue<long>()));
        var output = config["output"]![0]!;
        Assert.Equal(("OUTPUT0", "TYPE_FP32"), (output["name"]!.GetValue<string>(), output["data_type"]!.GetValue<string>()));
        Assert.Equal([16L], output["dims"]!.AsArray().Select(d => d!.GetValue<long>()));
        await AssertIdentityServesAsync(server.Http, "no_config", rows: 4);
        await E2E.AssertErrorAsync(await InferAsync(server.Http, "no_config", [5, 16]), HttpStatusCode.BadRequest, "batch size 5 exceeds maximum batch size 4");
    }

    private static StringContent IdentityBody(long[] shape, int seed = 7) =>
        Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", shape, Kserve.RandomFloats((int)shape.Aggregate(1L, (a, b) => a * b), seed))) });

    private static Task<HttpResponseMessage> InferAsync(HttpClient http, string model, long[] shape)
    {
        var name = model == "resnet_tiny" ? "input" : "INPUT0";
        var data = Kserve.RandomFloats((int)shape.Aggregate(1L, (a, b) => a * b), seed: 5);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput(name, shape, data)) };
        return http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
    }

    /// <summary>An identity inference of <paramref name="rows"/> rows answers with its input.</summary>
    private static async Task AssertIdentityServesAsync(HttpClient http, string model, int rows = 1)
    {
        var data = Kserve.RandomFloats(rows * 16, seed: rows);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [rows, 16], data)) };
        using var response = await http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {(int)response.StatusCode} {text}");
        Assert.Equal(data, JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()));
    }

    private static async Task<string> ServedVersionAsync(HttpClient http, string path)
    {
        using var response = await http.PostAsync(path, IdentityBody([1, 16]), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["model_version"]!.GetValue<string>();
    }

    private static async Task<bool> IsReadyAsync(HttpClient http, string model)
    {
        using var response = await http.GetAsync($"/v2/models/{model}/ready", Ct);
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static async Task<JsonNode[]> IndexRowsAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v2/repository/index", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray().Select(r => r!)];
    }

    /// <summary>name -> (version, state) of the repository index (one row per model expected).</summary>
    private static async Task<Dictionary<string, (string Version, string State)>> IndexAsync(HttpClient http) =>
        (await IndexRowsAsync(http)).ToDictionary(r => r["name"]!.GetValue<string>(), r => (r["version"]!.GetValue<string>(), r["state"]!.GetValue<string>()));
}
