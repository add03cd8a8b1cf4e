using System.Net;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Model files in the load request (<c>file:</c> parameters) over the real server: checked as Triton checks them (a
/// config is required, paths stay in the model folder, the name must be valid) with 400 / INVALID_ARGUMENT, then
/// refused as not supported (501 / UNIMPLEMENTED); nothing is written and the server keeps serving.
/// </summary>
public sealed class LoadFileParametersTests : IAsyncLifetime
{
    private const string Config = """{"backend":"onnxruntime","max_batch_size":8}""";
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

    private Task<HttpResponseMessage> LoadAsync(string model, JsonObject parameters) =>
        _server.Http.PostAsync($"/v2/repository/models/{model}/load", Kserve.Json(new JsonObject { ["parameters"] = parameters }), Ct);

    private static JsonObject Files(string path, JsonNode? value = null, bool withConfig = true)
    {
        var p = new JsonObject { ["file:" + path] = value ?? Convert.ToBase64String([1, 2, 3]) };
        if (withConfig)
        {
            p["config"] = Config;
        }
        return p;
    }

    [Theory]
    [InlineData("../x/model.onnx", "must stay inside the model folder")]
    [InlineData("1/../../x", "must stay inside the model folder")]
    [InlineData("1//model.onnx", "must stay inside the model folder")]
    [InlineData("./model.onnx", "must stay inside the model folder")]
    [InlineData("/etc/passwd", "must be relative to the model folder")]
    [InlineData("1\\model.onnx", "must use '/'")]
    [InlineData("", "the path is empty")]
    public async Task PathOutsideTheModelFolder_Is400(string path, string why)
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files(path)), HttpStatusCode.BadRequest, $"file parameter 'file:{path}'", why);
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(GrpcLoad("newmodel", path), cancellationToken: Ct),
            StatusCode.InvalidArgument, why);

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FilesWithoutAConfig_Are400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", withConfig: false)), HttpStatusCode.BadRequest,
            "a 'config' parameter with the model config is required when model files are given");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(GrpcLoad("newmodel", "1/model.onnx", withConfig: false), cancellationToken: Ct),
            StatusCode.InvalidArgument, "is required when model files are given");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FilesWithAnInvalidModelName_Are400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("..%2Fescape", Files("1/model.onnx")), HttpStatusCode.BadRequest, "failed to load");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(GrpcLoad("../escape", "1/model.onnx"), cancellationToken: Ct),
            StatusCode.InvalidArgument, "failed to load");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task FileContentNotBase64OrNotBytes_Is400()
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", "not base64!")), HttpStatusCode.BadRequest, "in base64");
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx", 12)), HttpStatusCode.BadRequest, "in base64");
        var request = new RepositoryModelLoadRequest { ModelName = "newmodel" };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = Config };
        request.Parameters["file:1/model.onnx"] = new ModelRepositoryParameter { StringParam = "AQID" };
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(request, cancellationToken: Ct),
            StatusCode.InvalidArgument, "must be a bytes_param");

        await AssertNothingChangedAsync();
    }

    [Fact]
    public async Task ValidFiles_AreRefusedAsNotSupported_AndNothingIsWritten()
    {
        await E2E.AssertErrorAsync(await LoadAsync("newmodel", Files("1/model.onnx")), HttpStatusCode.NotImplemented, "are not supported by this server");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(GrpcLoad("identity", "1/model.onnx"), cancellationToken: Ct),
            StatusCode.Unimplemented, "are not supported by this server");

        await AssertNothingChangedAsync();
    }

    private static RepositoryModelLoadRequest GrpcLoad(string model, string path, bool withConfig = true)
    {
        var request = new RepositoryModelLoadRequest { ModelName = model };
        if (withConfig)
        {
            request.Parameters["config"] = new ModelRepositoryParameter { StringParam = Config };
        }
        request.Parameters["file:" + path] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(1, 2, 3) };
        return request;
    }

    private async Task AssertNothingChangedAsync()
    {
        Assert.Equal(["identity"], Directory.EnumerateFileSystemEntries(_repository.Path).Select(Path.GetFileName));
        Assert.Equal(["1", "config.pbtxt"], Directory.EnumerateFileSystemEntries(Path.Combine(_repository.Path, "identity")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var index = await _server.Http.PostAsync("/v2/repository/index", null, Ct);
        Assert.Equal(["identity"], JsonNode.Parse(await index.Content.ReadAsStringAsync(Ct))!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        using var infer = await _server.Http.PostAsync("/v2/models/identity/infer",
            Kserve.Json(new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], new float[16])) }), Ct);
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
    }
}
