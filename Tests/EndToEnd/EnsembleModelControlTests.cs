using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>Model control with ensembles over the real server, as Triton's dependency graph does it: unloading an
/// ensemble leaves its composing models loaded unless the unload asks for unload_dependents (HTTP and gRPC);
/// unloading, removing or failing a composing model makes its ensembles not ready until it is back; reloading one
/// re-links its ensembles; a config override of an ensemble loads and is validated like a repository ensemble.</summary>
public sealed class EnsembleModelControlTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    private static async Task<bool> ReadyAsync(ServerHost server, string model)
    {
        using var response = await server.Http.GetAsync($"/v2/models/{model}/ready", Ct);
        return response.StatusCode == HttpStatusCode.OK;
    }

    private static async Task AssertReadyAsync(ServerHost server, bool ready, params string[] models)
    {
        foreach (var model in models)
        {
            Assert.True(await ReadyAsync(server, model) == ready, $"{model} should {(ready ? "" : "not ")}be ready");
        }
    }

    private static async Task<bool> ServerReadyAsync(ServerHost server)
    {
        using var response = await server.Http.GetAsync("/v2/health/ready", Ct);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>An inference of the pipeline (or an ensemble with its output product) answers X² - Y².</summary>
    private static async Task AssertProductServesAsync(ServerHost server, string model)
    {
        var x = Kserve.RandomFloats(16, seed: 11);
        var y = Kserve.RandomFloats(16, seed: 12);
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(Kserve.JsonInput("X", [1, 16], x), Kserve.JsonInput("Y", [1, 16], y)),
            ["outputs"] = new JsonArray(new JsonObject { ["name"] = "product" }),
        };
        using var response = await server.Http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {(int)response.StatusCode} {text}");
        var product = JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        for (var i = 0; i < 16; i++)
        {
            Assert.Equal((x[i] + y[i]) * (x[i] - y[i]), product[i], 1e-5f);
        }
    }

    private static async Task<JsonNode> IndexRowAsync(ServerHost server, string model)
    {
        using var response = await server.Http.PostAsync("/v2/repository/index", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray().Single(r => r!["name"]!.GetValue<string>() == model)!;
    }

    private static StringContent Parameters(JsonObject parameters) => Kserve.Json(new JsonObject { ["parameters"] = parameters });

    private static async Task HttpOkAsync(ServerHost server, string path, HttpContent? body = null)
    {
        using var response = await server.Http.PostAsync(path, body, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    private static RepositoryModelUnloadRequest GrpcUnload(string model, ModelRepositoryParameter? dependents = null)
    {
        var request = new RepositoryModelUnloadRequest { ModelName = model };
        if (dependents is not null)
        {
            request.Parameters["unload_dependents"] = dependents;
        }
        return request;
    }

    [Fact]
    public async Task UnloadingAnEnsemble_LeavesItsComposingModels_UnlessUnloadDependents_OverHttpAndGrpc()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        EnsembleModels.WriteEnsemble(_repository.Path, "adder", EnsembleModels.AdderBody);
        EnsembleModels.WriteEnsemble(_repository.Path, "outer", EnsembleModels.WrapperBody("pipeline"));
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=pipeline");

        // Plain unload (HTTP, no body): the composing models stay.
        await HttpOkAsync(server, "/v2/repository/models/pipeline/unload");
        await AssertReadyAsync(server, false, "pipeline");
        await AssertReadyAsync(server, true, "add", "sub", "mul");

        // unload_dependents: false is a plain unload too (gRPC).
        await HttpOkAsync(server, "/v2/repository/models/pipeline/load");
        await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("pipeline", new ModelRepositoryParameter { BoolParam = false }), cancellationToken: Ct);
        await AssertReadyAsync(server, true, "add", "sub", "mul");

        // unload_dependents: true (HTTP) unloads the composing models that no other loaded ensemble runs: add serves adder.
        await HttpOkAsync(server, "/v2/repository/models/pipeline/load");
        await HttpOkAsync(server, "/v2/repository/models/adder/load");
        await HttpOkAsync(server, "/v2/repository/models/pipeline/unload", Parameters(new JsonObject { ["unload_dependents"] = true }));
        await AssertReadyAsync(server, false, "pipeline", "sub", "mul");
        await AssertReadyAsync(server, true, "adder", "add");
        Assert.Equal(("UNAVAILABLE", "unloaded"), ((string)(await IndexRowAsync(server, "sub"))["state"]!, (string)(await IndexRowAsync(server, "sub"))["reason"]!));

        // gRPC: the last ensemble running add takes it along.
        await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("adder", new ModelRepositoryParameter { BoolParam = true }), cancellationToken: Ct);
        await AssertReadyAsync(server, false, "adder", "add");

        // A composing model that a load named stays loaded (Triton's explicitly loaded models).
        await HttpOkAsync(server, "/v2/repository/models/sub/load");
        await HttpOkAsync(server, "/v2/repository/models/pipeline/load");
        await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("pipeline", new ModelRepositoryParameter { BoolParam = true }), cancellationToken: Ct);
        await AssertReadyAsync(server, false, "pipeline", "add", "mul");
        await AssertReadyAsync(server, true, "sub");
        Assert.True(await ServerReadyAsync(server));

        // Nested: an ensemble over the pipeline takes the pipeline and its models along, but not sub.
        await HttpOkAsync(server, "/v2/repository/models/outer/load");
        await AssertReadyAsync(server, true, "outer", "pipeline", "add", "mul");
        await HttpOkAsync(server, "/v2/repository/models/outer/unload", Parameters(new JsonObject { ["unload_dependents"] = true }));
        await AssertReadyAsync(server, false, "outer", "pipeline", "add", "mul");
        await AssertReadyAsync(server, true, "sub");

        // unload_dependents of another type is refused, and nothing is unloaded.
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/sub/unload", Parameters(new JsonObject { ["unload_dependents"] = "yes" }), Ct),
            HttpStatusCode.BadRequest, "parameter 'unload_dependents' must be a boolean");
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("sub", new ModelRepositoryParameter { StringParam = "true" }), cancellationToken: Ct),
            StatusCode.InvalidArgument, "parameter 'unload_dependents' must be a bool_param");
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/sub/unload", Kserve.Json(new JsonObject { ["parameters"] = "all" }), Ct),
            HttpStatusCode.BadRequest, "'parameters' must be an object");
        await AssertReadyAsync(server, true, "sub");
    }

    [Fact]
    public async Task UnloadingAComposingModel_MakesTheEnsembleNotReady_UntilItIsLoadedAgain()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=pipeline");

        await HttpOkAsync(server, "/v2/repository/models/mul/unload");
        await AssertReadyAsync(server, false, "pipeline");
        const string Reason = "ensemble 'pipeline' depends on 'mul' which has no loaded version (unloaded)";
        var row = await IndexRowAsync(server, "pipeline");
        Assert.Equal(("UNAVAILABLE", Reason), ((string)row["state"]!, (string)row["reason"]!));
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("X", [1, 16], new float[16]), Kserve.JsonInput("Y", [1, 16], new float[16])) };
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/models/pipeline/infer", Kserve.Json(body), Ct), HttpStatusCode.NotFound,
            "model 'pipeline' has no available versions: " + Reason);
        // Stopped like an unload (as Triton): strict readiness does not wait for it.
        Assert.True(await ServerReadyAsync(server));

        await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mul" }, cancellationToken: Ct);
        await AssertReadyAsync(server, true, "pipeline");
        await AssertProductServesAsync(server, "pipeline");

        await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("add"), cancellationToken: Ct);
        Assert.False((await server.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "pipeline" }, cancellationToken: Ct)).Ready);
        await HttpOkAsync(server, "/v2/repository/models/add/load");
        Assert.True((await server.Grpc.ModelReadyAsync(new ModelReadyRequest { Name = "pipeline" }, cancellationToken: Ct)).Ready);
        await AssertProductServesAsync(server, "pipeline");
    }

    [Fact]
    public async Task AComposingModelThatFailsToLoad_LeavesTheEnsembleUnavailable_UntilItLoads()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        var mulModel = _repository.Combine("mul", "1", "model.onnx");
        var good = await File.ReadAllBytesAsync(mulModel, Ct);
        await File.WriteAllTextAsync(mulModel, "not an onnx model", Ct);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=pipeline");

        await AssertReadyAsync(server, false, "pipeline", "mul");
        Assert.Contains("composing model 'mul' of ensemble 'pipeline' is not available: model 'mul' has no available versions", (string)(await IndexRowAsync(server, "pipeline"))["reason"]!, StringComparison.Ordinal);
        Assert.False(await ServerReadyAsync(server));

        await File.WriteAllBytesAsync(mulModel, good, Ct);
        await HttpOkAsync(server, "/v2/repository/models/mul/load");
        await AssertReadyAsync(server, true, "pipeline");
        await AssertProductServesAsync(server, "pipeline");
        Assert.True(await ServerReadyAsync(server));
    }

    [Fact]
    public async Task ReloadingAComposingModel_RelinksItsEnsembles_WhichStopWhenTheyNoLongerFit()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=pipeline");

        await HttpOkAsync(server, "/v2/repository/models/add/load", Parameters(new JsonObject { ["config"] = """{"backend":"onnxruntime","max_batch_size":4}""" }));
        await AssertReadyAsync(server, true, "add");
        await AssertReadyAsync(server, false, "pipeline");
        Assert.Contains("ensemble pipeline allows maximum batch size 8, but it contains model add which only allows maximum batch size to be 4",
            (string)(await IndexRowAsync(server, "pipeline"))["reason"]!, StringComparison.Ordinal);

        await HttpOkAsync(server, "/v2/repository/models/add/load");
        await AssertReadyAsync(server, true, "pipeline");
        await AssertProductServesAsync(server, "pipeline");
    }

    [Fact]
    public async Task Poll_ARemovedComposingModel_StopsTheEnsemble_AndItsReturnBringsItBack()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        using var aside = new TempDirectory();
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=poll", "--repository-poll-secs=1");
        await AssertProductServesAsync(server, "pipeline");

        Directory.Move(_repository.Combine("mul"), aside.Combine("mul"));
        await E2E.WaitUntilAsync(async () => !await ReadyAsync(server, "pipeline"), "the pipeline stops with mul");
        Assert.Contains("ensemble 'pipeline' depends on 'mul' which has no loaded version", (string)(await IndexRowAsync(server, "pipeline"))["reason"]!, StringComparison.Ordinal);

        Directory.Move(aside.Combine("mul"), _repository.Combine("mul"));
        await E2E.WaitUntilAsync(() => ReadyAsync(server, "pipeline"), "the pipeline is back with mul");
        await AssertProductServesAsync(server, "pipeline");
    }

    [Fact]
    public async Task ALoadWithAConfigOverride_ServesTheEnsemble_LoadingItsComposingModels_OverHttpAndGrpc()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        Directory.CreateDirectory(_repository.Combine("custom", "1"));
        Directory.CreateDirectory(_repository.Combine("wrapper", "1"));
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit");

        var pipeline = EnsembleModels.OverrideJson(EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps);
        await HttpOkAsync(server, "/v2/repository/models/custom/load", Parameters(new JsonObject { ["config"] = pipeline }));
        await AssertReadyAsync(server, true, "custom", "add", "sub", "mul");
        await AssertProductServesAsync(server, "custom");
        var config = JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/custom/config", Ct))!;
        Assert.Equal(("custom", 3), ((string)config["name"]!, config["ensemble_scheduling"]!["step"]!.AsArray().Count));

        // gRPC: an ensemble over the override-loaded ensemble.
        var load = new RepositoryModelLoadRequest { ModelName = "wrapper" };
        load.Parameters["config"] = new ModelRepositoryParameter { StringParam = EnsembleModels.OverrideJson(EnsembleModels.WrapperBody("custom")) };
        await server.Grpc.RepositoryModelLoadAsync(load, cancellationToken: Ct);
        await AssertProductServesAsync(server, "wrapper");

        // Both follow their composing models with the override they were loaded with.
        await HttpOkAsync(server, "/v2/repository/models/mul/unload");
        await AssertReadyAsync(server, false, "custom", "wrapper");
        Assert.Contains("ensemble 'wrapper' depends on 'custom' which has no loaded version", (string)(await IndexRowAsync(server, "wrapper"))["reason"]!, StringComparison.Ordinal);
        await HttpOkAsync(server, "/v2/repository/models/mul/load");
        await AssertProductServesAsync(server, "wrapper");
        Assert.Equal(3, JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/custom/config", Ct))!["ensemble_scheduling"]!["step"]!.AsArray().Count);

        // unload_dependents leaves custom and mul, which loads named, and takes the other models along with custom.
        await server.Grpc.RepositoryModelUnloadAsync(GrpcUnload("wrapper", new ModelRepositoryParameter { BoolParam = true }), cancellationToken: Ct);
        await AssertReadyAsync(server, false, "wrapper");
        await AssertReadyAsync(server, true, "custom", "add", "sub", "mul");
        await HttpOkAsync(server, "/v2/repository/models/custom/unload", Parameters(new JsonObject { ["unload_dependents"] = true }));
        await AssertReadyAsync(server, false, "custom", "add", "sub");
        await AssertReadyAsync(server, true, "mul");
    }

    [Fact]
    public async Task AnInvalidEnsembleOverride_Is400NamingTheField_AndAnInvalidOneOnItsOwnLoadsNothing()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        Directory.CreateDirectory(_repository.Combine("custom", "1"));
        EnsembleModels.WriteEnsemble(_repository.Path, "loop_b", EnsembleModels.WrapperBody("custom"));
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit");
        var steps = EnsembleModels.PipelineSteps;

        async Task RefusedAsync(string body, string message)
        {
            var json = EnsembleModels.OverrideJson(body);
            await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/repository/models/custom/load", Parameters(new JsonObject { ["config"] = json }), Ct),
                HttpStatusCode.BadRequest, "config override of 'custom': " + message);
            var grpc = new RepositoryModelLoadRequest { ModelName = "custom" };
            grpc.Parameters["config"] = new ModelRepositoryParameter { StringParam = json };
            await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(grpc, cancellationToken: Ct), StatusCode.InvalidArgument, message);
            await AssertReadyAsync(server, false, "custom");
        }

        // Checked on their own first: nothing is loaded for them.
        await RefusedAsync(EnsembleModels.WrapperBody("loop_b"),
            "ensemble_scheduling.step[0].model_name: circular dependency between ensembles: custom -> loop_b -> custom");
        await RefusedAsync(EnsembleModels.PipelineIo + steps.Replace("input_map { key: \"B\" value: \"Y\" } output_map { key: \"OUT\" value: \"sum\" }", "input_map { key: \"B\" value: \"product\" } output_map { key: \"OUT\" value: \"sum\" }", StringComparison.Ordinal),
            "output[0]: output 'product' for ensemble 'custom' is not written: at least one of its depending tensors, 'sum', is not connected");
        await RefusedAsync(EnsembleModels.PipelineIo + steps + "\ninstance_group [ { count: 1 kind: KIND_CPU } ]",
            "instance_group: instance group should not be specified for ensemble 'custom'");
        await AssertReadyAsync(server, false, "add", "sub", "mul", "loop_b");

        // Checked against the composing models, which load first.
        await RefusedAsync(EnsembleModels.PipelineIo + steps.Replace("\"mul\"", "\"nope\"", StringComparison.Ordinal),
            "ensemble_scheduling.step[2].model_name: composing model 'nope' of ensemble 'custom' is not available");
        await RefusedAsync(EnsembleModels.PipelineIo + steps.Replace("key: \"A\" value: \"sum\"", "key: \"Q\" value: \"sum\"", StringComparison.Ordinal),
            "ensemble_scheduling.step[2].input_map[\"Q\"]: in ensemble custom, ensemble tensor sum is mapping to non-existing input Q in model mul");
        await RefusedAsync(EnsembleModels.PipelineIo.Replace("name: \"Y\" data_type: TYPE_FP32", "name: \"Y\" data_type: TYPE_INT32", StringComparison.Ordinal) + steps,
            "ensemble_scheduling.step[0].input_map[\"B\"]: in ensemble custom, ensemble tensor Y: inconsistent data type: TYPE_INT32 is inferred from ensemble 'custom' while TYPE_FP32 is inferred from model add");

        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/models/custom/infer", Kserve.Json(new JsonObject { ["inputs"] = new JsonArray() }), Ct),
            HttpStatusCode.NotFound, "custom");
    }

    [Fact]
    public async Task ACycleBetweenRepositoryEnsembles_FailsTheirLoads_NamingTheCycle()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WriteEnsemble(_repository.Path, "loop_a", EnsembleModels.WrapperBody("loop_b"));
        EnsembleModels.WriteEnsemble(_repository.Path, "loop_b", EnsembleModels.WrapperBody("loop_a"));
        EnsembleModels.WritePipeline(_repository.Path);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false");

        Assert.Contains("loop_a/config.pbtxt: ensemble_scheduling.step[0].model_name: circular dependency between ensembles: loop_a -> loop_b -> loop_a",
            (string)(await IndexRowAsync(server, "loop_a"))["reason"]!, StringComparison.Ordinal);
        Assert.Contains("circular dependency between ensembles: loop_b -> loop_a -> loop_b", (string)(await IndexRowAsync(server, "loop_b"))["reason"]!, StringComparison.Ordinal);
        await AssertProductServesAsync(server, "pipeline");
    }
}
