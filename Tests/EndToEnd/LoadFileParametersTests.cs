using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Bad model files in the load request (<c>file:</c> parameters) over the real server: refused as Triton refuses them
/// (a config is required, paths stay in the model folder, the name must be valid, the content is base64 or bytes) with
/// 400 / INVALID_ARGUMENT and a message that names no absolute path; nothing stays written, the index and readiness are
/// as they were, and the server keeps serving.
/// </summary>
public sealed class LoadFileParametersTests : IAsyncLifetime
{
    private readonly TempDirectory _repository = new();
    private ServerHost _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        _server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    private Task<HttpResponseMessage> LoadAsync(string model, JsonObject parameters) => LoadFiles.HttpLoadAsync(_server, model, parameters);

    private static JsonObject Files(string path, JsonNode? value = null, bool withConfig = true)
    {
        var p = new JsonObject { ["file:" + path] = value ?? Convert.ToBase64String([1, 2, 3]) };
        if (withConfig)
        {
            p["config"] = LoadFiles.Config;
        }
        return p;
    }

    [Theory]
    [InlineData("../x/model.onnx", "must stay inside the model folder")]
    [InlineData("1/../../x", "must stay inside the model folder")]
    [InlineData("1//model.onnx", "must stay inside the model folder")]
    [InlineData("./model.onnx", "must stay inside the model folder")]
    [InlineData("1/.", "must stay inside the model folder")]
    [InlineData("/etc/passwd", "must be relative to the model folder")]
    [InlineData("1\\model.onnx", "must use '/'")]
    [InlineData("1/model\u0001.onnx", "no control character")]
    [InlineData("", "the path is empty")]
    [InlineData("config.pbtxt", "is written from the 'config' parameter")]
    public async Task PathOutsideTheModelFolder_Is400(string path, string why)
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files(path)), HttpStatusCode.BadRequest, $"file parameter 'file:{path}'", why);
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("newmodel", LoadFiles.Config, (path, [1, 2, 3])), cancellationToken: Ct),
            StatusCode.InvalidArgument, why);

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FilesWithoutAConfig_Are400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", withConfig: false)), HttpStatusCode.BadRequest,
            "a 'config' parameter with the model config is required when model files are given");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("identity", null, ("1/model.onnx", [1, 2, 3])), cancellationToken: Ct),
            StatusCode.InvalidArgument, "is required when model files are given");
        var blank = Files("1/model.onnx", withConfig: false);
        blank["config"] = "  ";
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", blank), HttpStatusCode.BadRequest, "is required when model files are given");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FilesWithAnInvalidModelName_Are400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("..%2Fescape", Files("1/model.onnx")), HttpStatusCode.BadRequest, "failed to load");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("../escape", LoadFiles.Config, ("1/model.onnx", [1, 2, 3])), cancellationToken: Ct),
            StatusCode.InvalidArgument, "failed to load");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad(".hidden", LoadFiles.Config, ("1/model.onnx", [1, 2, 3])), cancellationToken: Ct),
            StatusCode.InvalidArgument, "starts with '.'");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FileContentNotBase64OrNotBytes_Is400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", "not base64!")), HttpStatusCode.BadRequest, "in base64");
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", "AQI")), HttpStatusCode.BadRequest, "in base64");
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", 12)), HttpStatusCode.BadRequest, "in base64");
        var request = LoadFiles.GrpcLoad("newmodel", LoadFiles.Config);
        request.Parameters["file:1/model.onnx"] = new ModelRepositoryParameter { StringParam = "AQID" };
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(request, cancellationToken: Ct),
            StatusCode.InvalidArgument, "must be a bytes_param");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task APathGivenTwiceOrAFileUsedAsAFolder_Is400()
    {
        var onnx = Convert.ToBase64String(LoadFiles.IdentityOnnx(_repository.Path));
        // A JSON object may repeat a key; the second copy is refused, not written over the first.
        var twice = "{\"parameters\":{\"config\":" + JsonValue.Create(LoadFiles.Config).ToJsonString()
            + ",\"file:1/model.onnx\":\"" + onnx + "\",\"file:1/model.onnx\":\"AQID\"}}";
        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/newmodel/load", new StringContent(twice, Encoding.UTF8, "application/json"), Ct),
            HttpStatusCode.BadRequest, "file parameter 'file:1/model.onnx': the path is given twice");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(
                LoadFiles.GrpcLoad("newmodel", LoadFiles.Config, ("1/model.onnx", [1]), ("1/model.onnx/inner", [2])), cancellationToken: Ct),
            StatusCode.InvalidArgument, "its folder is a file of the same request");
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", LoadFiles.HttpParameters(LoadFiles.Config, ("1/a/b", [1]), ("1/a", [2]))),
            HttpStatusCode.BadRequest, "file parameter 'file:1/a': it is a folder of another file of the same request");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FilesThatAreNotAModel_Are400WithoutAbsolutePaths_AndLeaveNothingWritten()
    {
        var message = await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx")), HttpStatusCode.BadRequest, "failed to load 'newmodel'");
        var detail = await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(
            LoadFiles.GrpcLoad("identity", LoadFiles.Config, ("1/model.onnx", [1, 2, 3])), cancellationToken: Ct), StatusCode.InvalidArgument, "failed to load 'identity'");
        // No version folder at all: the model has nothing to serve.
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("labels.txt")), HttpStatusCode.BadRequest, "failed to load 'newmodel'");

        var root = LoadFiles.Store(_server).RootPath!;
        foreach (var text in new[] { message, detail })
        {
            Assert.DoesNotContain(root, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetTempPath(), text, StringComparison.Ordinal);
            Assert.DoesNotContain(_repository.Path, text, StringComparison.Ordinal);
        }
        // The failed reload of 'identity' kept the repository's version serving.
        await AssertNothingChangedAsync();
    }

    private async Task AssertNothingChangedAsync()
    {
        Assert.Equal(["identity"], Directory.EnumerateFileSystemEntries(_repository.Path).Select(Path.GetFileName));
        Assert.Equal(["1", "config.pbtxt"], Directory.EnumerateFileSystemEntries(Path.Combine(_repository.Path, "identity")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(0, LoadFiles.Store(_server).HeldBytes);
        Assert.Equal(["identity"], await LoadFiles.IndexNamesAsync(_server));
        using (var ready = await _server.Http.GetAsync("/v2/health/ready", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        using (var unknown = await _server.Http.GetAsync("/v2/models/newmodel", Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "identity"));
    }
}
