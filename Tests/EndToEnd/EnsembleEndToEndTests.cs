using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>Ensembles over the real server: a DAG of composing models with tensor mapping, each step through its own
/// model's scheduler, statistics of the ensemble and of each composing model, requested outputs only, step errors,
/// load-time validation naming the field, and the load order (explicit mode loads the composing models).</summary>
public sealed class EnsembleEndToEndTests : IDisposable
{
    private readonly TempDirectory _repository = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _repository.Dispose();

    private static JsonObject Body(float[] x, float[] y, int batch = 1, params string[] outputs)
    {
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(Kserve.JsonInput("X", [batch, 16], x), Kserve.JsonInput("Y", [batch, 16], y)),
        };
        if (outputs.Length > 0)
        {
            body["outputs"] = new JsonArray([.. outputs.Select(o => (JsonNode)new JsonObject { ["name"] = o })]);
        }
        return body;
    }

    private static async Task<JsonNode> StatsAsync(HttpClient http, string model) =>
        JsonNode.Parse(await http.GetStringAsync($"/v2/models/{model}/stats", Ct))!["model_stats"]![0]!;

    private static ulong Success(JsonNode stats) => stats["inference_stats"]!["success"]!["count"]!.GetValue<ulong>();

    private static float[] Data(JsonNode output) => [.. output["data"]!.AsArray().Select(v => v!.GetValue<float>())];

    [Fact]
    public async Task Pipeline_RunsTheDag_ThroughEachComposingModel_OverHttpAndGrpc()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        await using var server = await ServerHost.StartAsync(_repository.Path);

        var x = Kserve.RandomFloats(32, seed: 1);
        var y = Kserve.RandomFloats(32, seed: 2);
        using var response = await server.Http.PostAsync("/v2/models/pipeline/infer", Kserve.Json(Body(x, y, batch: 2)), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonNode.Parse(text)!;
        Assert.Equal(("pipeline", "1"), (json["model_name"]!.GetValue<string>(), json["model_version"]!.GetValue<string>()));
        var outputs = json["outputs"]!.AsArray().ToDictionary(o => o!["name"]!.GetValue<string>(), o => o!);
        Assert.Equal(["product", "sum"], outputs.Keys.Order());
        Assert.Equal([2L, 16L], outputs["product"]["shape"]!.AsArray().Select(v => v!.GetValue<long>()));
        var product = Data(outputs["product"]);
        var sum = Data(outputs["sum"]);
        for (var i = 0; i < 32; i++)
        {
            Assert.Equal(x[i] + y[i], sum[i], 1e-6f);
            Assert.Equal((x[i] + y[i]) * (x[i] - y[i]), product[i], 1e-5f);
        }

        // gRPC, asking for one output: only the step that writes it runs.
        var request = E2E.RawRequest("pipeline", "X", [1, 16], x[..16], output: "sum");
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "Y", Datatype = "FP32", Shape = { 1, 16 } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(y.AsSpan(0, 16))));
        var reply = await server.Grpc.ModelInferAsync(request, cancellationToken: Ct);
        Assert.Equal("sum", Assert.Single(reply.Outputs).Name);
        Assert.Equal(x[..16].Zip(y[..16], (a, b) => a + b), E2E.Floats(reply.RawOutputContents[0]));

        var ensemble = await StatsAsync(server.Http, "pipeline");
        Assert.Equal(2ul, Success(ensemble));
        Assert.Equal(3ul, ensemble["inference_count"]!.GetValue<ulong>());
        Assert.Equal(2ul, ensemble["execution_count"]!.GetValue<ulong>());
        Assert.True(ensemble["inference_stats"]!["compute_infer"]!["ns"]!.GetValue<ulong>() > 0);
        Assert.Equal((2ul, 1ul, 1ul), (Success(await StatsAsync(server.Http, "add")), Success(await StatsAsync(server.Http, "sub")), Success(await StatsAsync(server.Http, "mul"))));

        var metadata = JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/pipeline", Ct))!;
        Assert.Equal("ensemble", metadata["platform"]!.GetValue<string>());
        var config = JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/pipeline/config", Ct))!;
        Assert.Equal(3, config["ensemble_scheduling"]!["step"]!.AsArray().Count);
    }

    [Fact]
    public async Task AStepThatFails_FailsTheRequestWithItsError_AndTheServerKeepsServing()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        // X of variable length: the composing models check the real shape at run time.
        EnsembleModels.WriteEnsemble(_repository.Path, "loose", """
            input [ { name: "X" data_type: TYPE_FP32 dims: [ -1 ] }, { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] } ]
            output [ { name: "sum" data_type: TYPE_FP32 dims: [ -1 ] } ]
            ensemble_scheduling { step [ { model_name: "add" model_version: -1 input_map { key: "A" value: "X" } input_map { key: "B" value: "Y" } output_map { key: "OUT" value: "sum" } } ] }
            """);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(Kserve.JsonInput("X", [1, 8], new float[8]), Kserve.JsonInput("Y", [1, 8], new float[8])),
        };
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/models/loose/infer", Kserve.Json(body), Ct), HttpStatusCode.BadRequest, "'A'", "add");
        Assert.Equal(1ul, (await StatsAsync(server.Http, "loose"))["inference_stats"]!["fail"]!["count"]!.GetValue<ulong>());

        var ok = new JsonObject
        {
            ["inputs"] = new JsonArray(Kserve.JsonInput("X", [1, 16], new float[16]), Kserve.JsonInput("Y", [1, 16], new float[16])),
        };
        using var served = await server.Http.PostAsync("/v2/models/loose/infer", Kserve.Json(ok), Ct);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        using var ready = await server.Http.GetAsync("/v2/health/ready", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    public static TheoryData<string, string, string> BadEnsembles => new()
    {
        { "unknown_model", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps.Replace("\"mul\"", "\"nope\"", StringComparison.Ordinal),
            "bad/config.pbtxt: ensemble_scheduling.step[2].model_name: composing model 'nope' of ensemble 'bad' is not available" },
        { "no_such_input", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps.Replace("key: \"A\" value: \"sum\"", "key: \"Q\" value: \"sum\"", StringComparison.Ordinal),
            "ensemble_scheduling.step[2].input_map[\"Q\"]: in ensemble bad, ensemble tensor sum is mapping to non-existing input Q in model mul" },
        { "unmapped_input", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps.Replace("input_map { key: \"B\" value: \"diff\" }", "", StringComparison.Ordinal),
            "ensemble_scheduling.step[1].output_map[\"OUT\"]: ensemble tensor 'diff' is unused in ensemble 'bad'" },
        { "no_such_output", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps.Replace("output_map { key: \"OUT\" value: \"product\" }", "output_map { key: \"RESULT\" value: \"product\" }", StringComparison.Ordinal),
            "ensemble_scheduling.step[2].output_map[\"RESULT\"]: in ensemble bad, ensemble tensor product is mapped from non-existing output RESULT in model mul" },
        { "wrong_type", EnsembleModels.PipelineIo.Replace("name: \"Y\" data_type: TYPE_FP32", "name: \"Y\" data_type: TYPE_INT32", StringComparison.Ordinal) + EnsembleModels.PipelineSteps,
            "in ensemble bad, ensemble tensor Y: inconsistent data type: TYPE_INT32 is inferred from ensemble 'bad' while TYPE_FP32 is inferred from model add" },
        { "wrong_shape", EnsembleModels.PipelineIo.Replace("name: \"sum\" data_type: TYPE_FP32 dims: [ 16 ]", "name: \"sum\" data_type: TYPE_FP32 dims: [ 8 ]", StringComparison.Ordinal) + EnsembleModels.PipelineSteps,
            "ensemble_scheduling.step[0].output_map[\"OUT\"]: in ensemble bad, ensemble tensor sum: inconsistent shape: [-1,8] is inferred from ensemble 'bad' while [-1,16] is inferred from model add" },
        { "not_written", EnsembleModels.PipelineIo.Replace("{ name: \"sum\"", "{ name: \"total\"", StringComparison.Ordinal) + EnsembleModels.PipelineSteps,
            "output[1]: ensemble output 'total' for ensemble 'bad' is not used: no step's output_map writes it" },
        { "cycle", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps.Replace("input_map { key: \"B\" value: \"Y\" } output_map { key: \"OUT\" value: \"sum\" }", "input_map { key: \"B\" value: \"product\" } output_map { key: \"OUT\" value: \"sum\" }", StringComparison.Ordinal),
            "output[0]: output 'product' for ensemble 'bad' is not written: at least one of its depending tensors, 'sum', is not connected" },
        { "batch_too_large", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps + "\nmax_batch_size: 16",
            "ensemble bad allows maximum batch size 16, but it contains model add which only allows maximum batch size to be 8" },
        { "instance_group", EnsembleModels.PipelineIo + EnsembleModels.PipelineSteps + "\ninstance_group [ { count: 1 kind: KIND_CPU } ]",
            "bad/config.pbtxt: instance_group: instance group should not be specified for ensemble 'bad'" },
        { "no_steps", EnsembleModels.PipelineIo + "ensemble_scheduling { }", "ensemble_scheduling.step: must specify 'step' for ensemble 'bad'" },
    };

    [Theory]
    [MemberData(nameof(BadEnsembles))]
    public async Task AnInvalidEnsemble_FailsToLoad_NamingTheField(string what, string body, string reason)
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WriteEnsemble(_repository.Path, "bad", body.Replace("\nmax_batch_size: 16", "", StringComparison.Ordinal),
            maxBatchSize: body.Contains("max_batch_size: 16", StringComparison.Ordinal) ? 16 : 8);
        await using var server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false");
        using var index = await server.Http.PostAsync("/v2/repository/index", null, Ct);
        var row = JsonNode.Parse(await index.Content.ReadAsStringAsync(Ct))!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "bad")!;
        Assert.True(row["state"]!.GetValue<string>() == "UNAVAILABLE", what);
        Assert.Contains(reason, row["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        await E2E.AssertErrorAsync(await server.Http.PostAsync("/v2/models/bad/infer", Kserve.Json(Body(new float[16], new float[16])), Ct),
            HttpStatusCode.NotFound, "model 'bad' has no available versions");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/models/add/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task ExplicitMode_LoadingAnEnsemble_LoadsItsComposingModels_AtStartAndThroughTheApi()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path, "pipeline2");
        await using (var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=pipeline"))
        {
            foreach (var model in new[] { "pipeline", "add", "sub", "mul" })
            {
                Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v2/models/{model}/ready", Ct)).StatusCode);
            }
            using var ready = await server.Http.GetAsync("/v2/health/ready", Ct);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        await using (var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/add/ready", Ct)).StatusCode);
            var load = await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "pipeline2" }, cancellationToken: Ct);
            Assert.NotNull(load);
            foreach (var model in new[] { "pipeline2", "add", "sub", "mul" })
            {
                Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/v2/models/{model}/ready", Ct)).StatusCode);
            }
            var x = Kserve.RandomFloats(16, seed: 5);
            using var response = await server.Http.PostAsync("/v2/models/pipeline2/infer", Kserve.Json(Body(x, x, 1, "product")), Ct);
            Assert.Equal(new float[16], Data(JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!));
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.GetAsync("/v2/models/pipeline/ready", Ct)).StatusCode);
        }
    }

    [Fact]
    public async Task AnEnsembleWithTheResponseCache_AnswersARepeatWithoutRunningItsSteps()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path, extra: "response_cache { enable: true }");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--cache-config=local,size=1048576");
        var x = Kserve.RandomFloats(16, seed: 7);
        var y = Kserve.RandomFloats(16, seed: 8);
        using var first = await server.Http.PostAsync("/v2/models/pipeline/infer", Kserve.Json(Body(x, y)), Ct);
        using var second = await server.Http.PostAsync("/v2/models/pipeline/infer", Kserve.Json(Body(x, y)), Ct);
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await second.Content.ReadAsStringAsync(Ct));
        var stats = await StatsAsync(server.Http, "pipeline");
        Assert.Equal((1ul, 1ul), (stats["inference_stats"]!["cache_hit"]!["count"]!.GetValue<ulong>(), stats["inference_stats"]!["cache_miss"]!["count"]!.GetValue<ulong>()));
        Assert.Equal(1ul, Success(await StatsAsync(server.Http, "mul")));
    }

    [Fact]
    public async Task AGrpcStepError_KeepsItsStatusCode()
    {
        EnsembleModels.WriteComposing(_repository.Path);
        EnsembleModels.WritePipeline(_repository.Path);
        await using var server = await ServerHost.StartAsync(_repository.Path);
        var request = E2E.RawRequest("pipeline", "X", [1, 16], new float[16], output: "nope");
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "Y", Datatype = "FP32", Shape = { 1, 16 } });
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[64]));
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.ModelInferAsync(request, cancellationToken: Ct), StatusCode.InvalidArgument, "nope");
    }
}
