using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Server.Repository;
using Inference.Tests.ModelTools;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// The model control API cannot be turned against the server: a config override cannot make it read a file
/// outside the model (nor tell what exists there), symbolic links are followed only within the repository,
/// crafted or unknown model names leave no trace (index, readiness, later inferences), and the index stays one
/// row per model on disk whatever the loads and unloads.
/// </summary>
public sealed class ModelControlSafetyTests : IDisposable
{
    private static string InvalidConfig(string name) =>
        $"name: \"{name}\"\nmax_batch_size: 8\ninput [ {{ name: \"INPUT0\" data_type: TYPE_NOPE dims: [ 16 ] }} ]\n";

    private readonly TempDirectory _repository = new();
    private readonly TempDirectory _outside = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _repository.Dispose();
        _outside.Dispose();
    }

    [Fact]
    public async Task ConfigOverride_AModelFileOutsideTheVersionFolder_IsRefused_WithOneAnswerWhateverExistsThere()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        var outsideModel = Path.Combine(IdentityModelBuilder.Write(_outside.Path, "identity", width: 16, maxBatchSize: 8), "1", "model.onnx");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
        // A valid ONNX model, a file that is not one, and no file at all: the same answer for each kind of name.
        string[][] kinds =
        [
            [outsideModel, "/etc/shadow", "/no/such/folder/model.onnx"],
            [Path.GetRelativePath(_repository.Combine("identity", "1"), outsideModel), "../../../../../../../../etc/shadow", "../../no/such/model.onnx", "../1/model.onnx"],
        ];

        foreach (var names in kinds)
        {
            var answers = new List<string>();
            foreach (var name in names)
            {
                var message = await E2E.AssertErrorAsync(await LoadAsync(server.Http, "identity", Override($"\"default_model_filename\":{Quote(name)}")),
                    HttpStatusCode.BadRequest, "default_model_filename", "must be a relative path");
                var answer = message.Replace(name, "<name>", StringComparison.Ordinal);
                AssertRevealsNoPath(answer);
                answers.Add(answer);
            }
            Assert.Single(answers.Distinct());
        }

        var rpc = await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(
                LoadRequest("identity", Override($"\"default_model_filename\":{Quote(outsideModel)}")), cancellationToken: Ct),
            StatusCode.InvalidArgument, "default_model_filename");
        AssertRevealsNoPath(rpc.Replace(outsideModel, "<name>", StringComparison.Ordinal));
        Assert.Equal(8, JsonNode.Parse(await server.Http.GetStringAsync("/v2/models/identity/config", Ct))!["max_batch_size"]!.GetValue<int>());
        await AssertIdentityServesAsync(server.Http, "identity");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/ready", Ct)).StatusCode);
    }

    [Fact]
    public async Task ConfigOverride_LabelWarmupAndPerCapabilityFilesOutsideTheModel_AreRefused()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        var secret = Path.Combine(_outside.Path, "secret.txt");
        File.WriteAllText(secret, "root:x:0:0\n");
        var sample = Path.Combine(_outside.Path, "sample.bin");
        File.WriteAllBytes(sample, new byte[2 * 16 * sizeof(float)]);
        var outsideModel = Path.Combine(IdentityModelBuilder.Write(_outside.Path, "identity", width: 16, maxBatchSize: 8), "1", "model.onnx");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit");

        var relativeSecret = Path.GetRelativePath(_repository.Combine("identity"), secret);
        foreach (var (fields, field, value) in new[]
        {
            ($"\"cc_model_filenames\":{{\"8.0\":{Quote(outsideModel)}}}", "cc_model_filenames", outsideModel),
            (Output($"\"label_filename\":{Quote(secret)}"), "label_filename", secret),
            (Output($"\"label_filename\":{Quote(relativeSecret)}"), "label_filename", relativeSecret),
        })
        {
            var message = await E2E.AssertErrorAsync(await LoadAsync(server.Http, "identity", Override(fields)), HttpStatusCode.BadRequest,
                field, "must be a relative path");
            AssertRevealsNoPath(message.Replace(value, "<name>", StringComparison.Ordinal));
        }

        var existing = await E2E.AssertErrorAsync(await LoadAsync(server.Http, "identity", Override(Warmup(sample))), HttpStatusCode.BadRequest,
            "input_data_file", "must be a relative path");
        var missing = await E2E.AssertErrorAsync(await LoadAsync(server.Http, "identity", Override(Warmup(sample + ".absent"))), HttpStatusCode.BadRequest,
            "input_data_file", "must be a relative path");
        var answer = existing.Replace(sample, "<name>", StringComparison.Ordinal);
        AssertRevealsNoPath(answer);
        Assert.Equal(answer, missing.Replace(sample + ".absent", "<name>", StringComparison.Ordinal));

        var plugin = "\"optimization\":{\"execution_accelerators\":{\"gpu_execution_accelerator\":[{\"name\":\"tensorrt\",\"parameters\":{\"trt_extra_plugin_lib_paths\":\"/tmp/plugin.so\"}}]}}";
        await E2E.AssertErrorAsync(await LoadAsync(server.Http, "identity", Override(plugin)), HttpStatusCode.BadRequest,
            "trt_extra_plugin_lib_paths", "config override");
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/ready", Ct)).StatusCode);

        static string Output(string extra) =>
            $"\"input\":[{{\"name\":\"INPUT0\",\"data_type\":\"TYPE_FP32\",\"dims\":[16]}}],\"output\":[{{\"name\":\"OUTPUT0\",\"data_type\":\"TYPE_FP32\",\"dims\":[16],{extra}}}]";

        static string Warmup(string file) =>
            $"\"model_warmup\":[{{\"name\":\"w\",\"batch_size\":2,\"inputs\":{{\"INPUT0\":{{\"data_type\":\"TYPE_FP32\",\"dims\":[16],\"input_data_file\":{Quote(file)}}}}}}}]";
    }

    [Fact]
    public async Task SymbolicLinks_WithinTheRepositoryAreFollowed_AndLinksOutOfItAreRefused()
    {
        var root = _repository.Path;
        var model = Path.Combine(IdentityModelBuilder.Write(_outside.Path, "identity", width: 16, maxBatchSize: 8), "1", "model.onnx");

        // A version sharing weights kept in a hidden folder of the repository.
        Directory.CreateDirectory(Path.Combine(root, ".shared"));
        File.Copy(model, Path.Combine(root, ".shared", "model.onnx"));
        var shared = E2E.WriteIdentity(root, "shared_weights");
        File.Delete(Path.Combine(shared, "1", "model.onnx"));
        File.CreateSymbolicLink(Path.Combine(shared, "1", "model.onnx"), Path.Combine("..", "..", ".shared", "model.onnx"));
        // A Kubernetes ConfigMap-style mount: the model folder is a link to ..data/<model>, ..data a link to a dated folder.
        IdentityModelBuilder.Write(Path.Combine(root, "..2026_01_01_00_00_00.1"), "cm_model", width: 16, maxBatchSize: 8);
        Directory.CreateSymbolicLink(Path.Combine(root, "..data"), "..2026_01_01_00_00_00.1");
        Directory.CreateSymbolicLink(Path.Combine(root, "cm_model"), Path.Combine("..data", "cm_model"));

        // Links out of the repository, to files that exist and to files that do not.
        LinkModelFile(E2E.WriteIdentity(root, "escaped"), model);
        LinkModelFile(E2E.WriteIdentity(root, "dangling"), Path.Combine(_outside.Path, "nothing", "model.onnx"));
        Directory.CreateSymbolicLink(Path.Combine(root, "escaped_folder"), IdentityModelBuilder.Write(_outside.Path, "escaped_folder", width: 16, maxBatchSize: 8));
        var versionLink = E2E.WriteIdentity(root, "escaped_version");
        Directory.Delete(Path.Combine(versionLink, "1"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(versionLink, "1"), Path.GetDirectoryName(model)!);
        var labels = E2E.WriteIdentity(root, "escaped_labels");
        File.WriteAllText(Path.Combine(_outside.Path, "secret.txt"), "root:x:0:0\n");
        File.CreateSymbolicLink(Path.Combine(labels, "labels.txt"), Path.Combine(_outside.Path, "secret.txt"));
        var config = E2E.WriteIdentity(root, "escaped_config");
        File.Move(Path.Combine(config, "config.pbtxt"), Path.Combine(_outside.Path, "escaped_config.pbtxt"));
        File.CreateSymbolicLink(Path.Combine(config, "config.pbtxt"), Path.Combine(_outside.Path, "escaped_config.pbtxt"));

        // The repository itself is reached through a link: that is where the operator mounted it.
        var mount = Path.Combine(_outside.Path, "mount");
        Directory.CreateSymbolicLink(mount, root);
        await using var server = await ServerHost.StartAsync(mount, "--strict-readiness=false");

        var rows = (await IndexRowsAsync(server.Http)).ToDictionary(r => r["name"]!.GetValue<string>(), r => (State: r["state"]!.GetValue<string>(), Reason: r["reason"]!.GetValue<string>()));
        Assert.Equal(["cm_model", "dangling", "escaped", "escaped_config", "escaped_folder", "escaped_labels", "escaped_version", "shared_weights"],
            rows.Keys.Order(StringComparer.Ordinal));
        await AssertIdentityServesAsync(server.Http, "shared_weights");
        await AssertIdentityServesAsync(server.Http, "cm_model");
        foreach (var name in new[] { "escaped", "dangling", "escaped_folder", "escaped_version", "escaped_labels", "escaped_config" })
        {
            Assert.True(rows[name].State == "UNAVAILABLE", $"{name}: {rows[name].State} {rows[name].Reason}");
            Assert.Contains("resolves outside the model repository", rows[name].Reason, StringComparison.Ordinal);
            AssertRevealsNoPath(rows[name].Reason, mount);
        }
        Assert.Equal(rows["escaped"].Reason.Replace("escaped", "m", StringComparison.Ordinal), rows["dangling"].Reason.Replace("dangling", "m", StringComparison.Ordinal));

        static void LinkModelFile(string folder, string target)
        {
            File.Delete(Path.Combine(folder, "1", "model.onnx"));
            File.CreateSymbolicLink(Path.Combine(folder, "1", "model.onnx"), target);
        }
    }

    [Fact]
    public async Task ModelNames_ThatAreNotModelsOfTheRepository_AreRefused_AndLeaveNoTrace()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        E2E.WriteIdentity(_repository.Path, "other");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
        var http = server.Http;

        foreach (var (path, status) in new[]
        {
            ("..%2Fidentity", HttpStatusCode.BadRequest),
            ("%2Fetc", HttpStatusCode.NotFound),
            ("%20", HttpStatusCode.NotFound),
            ("no_such_model", HttpStatusCode.NotFound),
            (new string('a', 300), HttpStatusCode.BadRequest),
            ("a%01b", HttpStatusCode.BadRequest),
            (".hidden", HttpStatusCode.BadRequest),
        })
        {
            using var response = await http.PostAsync($"/v2/repository/models/{path}/load", null, Ct);
            Assert.True(response.StatusCode == status, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        }
        foreach (var name in new[] { "../identity", "/etc", "identity/..", ".", "..", "a\\b", "a\u0001b", "a\nb", "", new string('a', 256) })
        {
            await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = name }, cancellationToken: Ct),
                StatusCode.InvalidArgument, "not a valid model name");
        }
        await E2E.AssertRpcErrorAsync(async () => await server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "no_such_model" }, cancellationToken: Ct),
            StatusCode.NotFound, "failed to load 'no_such_model': no such model in the repository");

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready", Ct)).StatusCode);
        Assert.True((await server.Grpc.ServerReadyAsync(new ServerReadyRequest(), cancellationToken: Ct)).Ready);
        Assert.Equal(["identity", "other"], (await IndexRowsAsync(http)).Select(r => r["name"]!.GetValue<string>()));
        foreach (var name in new[] { "../identity", "no_such_model", " " })
        {
            await E2E.AssertRpcErrorAsync(async () => await server.Grpc.ModelInferAsync(E2E.RawRequest(name, "INPUT0", [1, 16], new float[16]), cancellationToken: Ct),
                StatusCode.NotFound, "is not found");
        }
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/models/no_such_model/infer", IdentityBody(), Ct), HttpStatusCode.NotFound, "'no_such_model' is not found");
        await AssertIdentityServesAsync(http, "identity");
    }

    [Fact]
    public async Task StrictReadiness_CoversTheModelsMeantToBeServed_NotFailedLoadsThroughTheApi()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        var broken = E2E.WriteIdentity(_repository.Path, "bad_config");
        File.WriteAllText(Path.Combine(broken, "config.pbtxt"), InvalidConfig("bad_config"));
        var later = E2E.WriteIdentity(_repository.Path, "later_broken");
        await using (var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity"))
        {
            var http = server.Http;
            await AssertReadyAsync(http, true);

            await E2E.AssertErrorAsync(await LoadAsync(http, "bad_config"), HttpStatusCode.BadRequest, "TYPE_NOPE");
            await AssertReadyAsync(http, true);

            Assert.Equal(HttpStatusCode.OK, (await LoadAsync(http, "later_broken")).StatusCode);
            File.WriteAllText(Path.Combine(later, "config.pbtxt"), InvalidConfig("later_broken"));
            await E2E.AssertErrorAsync(await LoadAsync(http, "later_broken"), HttpStatusCode.BadRequest, "TYPE_NOPE");
            await AssertIdentityServesAsync(http, "later_broken");
            await AssertReadyAsync(http, true);

            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/later_broken/unload", null, Ct)).StatusCode);
            await E2E.AssertErrorAsync(await LoadAsync(http, "later_broken"), HttpStatusCode.BadRequest, "TYPE_NOPE");
            await AssertReadyAsync(http, true);
        }

        // Models named at start count whatever their outcome, until they load or are unloaded.
        await using (var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=bad_config", "--load-model=absent"))
        {
            var http = server.Http;
            await AssertReadyAsync(http, false);
            var fixedConfig = File.ReadAllText(Path.Combine(_repository.Path, "identity", "config.pbtxt")).Replace("\"identity\"", "\"bad_config\"", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(broken, "config.pbtxt"), fixedConfig);
            Assert.Equal(HttpStatusCode.OK, (await LoadAsync(http, "bad_config")).StatusCode);
            await AssertReadyAsync(http, false);

            E2E.WriteIdentity(_repository.Path, "absent");
            Assert.Equal(HttpStatusCode.OK, (await LoadAsync(http, "absent")).StatusCode);
            await AssertReadyAsync(http, true);
        }
    }

    [Fact]
    public async Task TheIndex_HoldsOneRowPerModelOnDisk_WhateverTheLoadsAndUnloads()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        var gone = E2E.WriteIdentity(_repository.Path, "gone");
        await using var server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
        var http = server.Http;

        for (var i = 0; i < 300; i++)
        {
            using var response = await http.PostAsync($"/v2/repository/models/missing_{i}/load", null, Ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/identity/unload", null, Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await LoadAsync(http, "identity")).StatusCode);
        }
        Assert.Equal(["gone", "identity"], (await IndexRowsAsync(http)).Select(r => r["name"]!.GetValue<string>()));
        var manager = server.Services.GetRequiredService<ModelManager>();
        Assert.Equal(1, manager.TrackedModelCount);

        Assert.Equal(HttpStatusCode.OK, (await LoadAsync(http, "gone")).StatusCode);
        Directory.Delete(gone, recursive: true);
        Assert.Equal(["gone", "identity"], (await IndexRowsAsync(http)).Select(r => r["name"]!.GetValue<string>()));
        await AssertIdentityServesAsync(http, "gone");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/gone/unload", null, Ct)).StatusCode);

        Assert.Equal(["identity"], (await IndexRowsAsync(http)).Select(r => r["name"]!.GetValue<string>()));
        Assert.Equal(1, manager.TrackedModelCount);
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/models/gone/infer", IdentityBody(), Ct), HttpStatusCode.NotFound, "'gone' is not found");
        await E2E.AssertErrorAsync(await http.PostAsync("/v2/repository/models/gone/unload", null, Ct), HttpStatusCode.NotFound, "no such model in the repository");
        await AssertReadyAsync(http, true);
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>A config override for the identity model with <paramref name="fields"/> added.</summary>
    private static string Override(string fields) => $"{{\"backend\":\"onnxruntime\",\"max_batch_size\":8,{fields}}}";

    private static Task<HttpResponseMessage> LoadAsync(HttpClient http, string model, string? config = null)
    {
        var body = config is null ? new JsonObject() : new JsonObject { ["parameters"] = new JsonObject { ["config"] = config } };
        return http.PostAsync($"/v2/repository/models/{model}/load", Kserve.Json(body), Ct);
    }

    private static RepositoryModelLoadRequest LoadRequest(string model, string config) => new()
    {
        ModelName = model,
        Parameters = { ["config"] = new ModelRepositoryParameter { StringParam = config } },
    };

    /// <summary>The message names neither this test's folders nor the file system's root folders.</summary>
    private void AssertRevealsNoPath(string message, string? alsoHidden = null)
    {
        foreach (var path in new[] { _repository.Path, _outside.Path, Path.GetTempPath(), alsoHidden })
        {
            if (path is not null)
            {
                Assert.DoesNotContain(path, message, StringComparison.Ordinal);
            }
        }
    }

    private static async Task AssertReadyAsync(HttpClient http, bool ready)
    {
        using var response = await http.GetAsync("/v2/health/ready", Ct);
        Assert.Equal(ready ? HttpStatusCode.OK : HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static StringContent IdentityBody() =>
        Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], new float[16])) });

    private static async Task AssertIdentityServesAsync(HttpClient http, string model)
    {
        var data = Kserve.RandomFloats(16, seed: 11);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], data)) };
        using var response = await http.PostAsync($"/v2/models/{model}/infer", Kserve.Json(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {(int)response.StatusCode} {text}");
        Assert.Equal(data, JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>()));
    }

    private static async Task<JsonNode[]> IndexRowsAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v2/repository/index", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray().Select(r => r!)];
    }
}
