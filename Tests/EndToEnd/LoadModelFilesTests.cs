using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Model files in the load request (Triton's <c>load_model(files=...)</c>) over the real server: the files become a
/// model folder in the server's own temporary folder (never in the repository), the model is served from it at the
/// versions the paths name, a load without files returns it to the repository's folder, an unload deletes it; the
/// load route alone reads bodies up to --max-load-request-body-bytes (413 above), gRPC keeps its message limit, and
/// all written models together stay within --max-model-files-bytes.
/// </summary>
public sealed class LoadModelFilesTests : IAsyncLifetime
{
    /// <summary>The server's limit for every HTTP body and gRPC message but the HTTP load route's.</summary>
    private const int BodyLimit = 64 * 1024;

    /// <summary>The HTTP load route's limit.</summary>
    private const int LoadBodyLimit = 256 * 1024;

    /// <summary>All written model folders together.</summary>
    private const int FilesLimit = 160 * 1024;

    private readonly TempDirectory _repository = new();
    private ServerHost _server = null!;
    private byte[] _onnx = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        E2E.WriteIdentity(_repository.Path, "identity");
        _onnx = LoadFiles.IdentityOnnx(_repository.Path);
        _server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=identity",
            $"--max-request-body-bytes={BodyLimit}", $"--max-load-request-body-bytes={LoadBodyLimit}", $"--max-model-files-bytes={FilesLimit}");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Fact]
    public async Task HttpLoadWithFiles_ServesANewModelFromTheServersFolder_AndUnloadDeletesIt()
    {
        // As tritonclient does it: the config of a served model, renamed, and the ONNX file.
        using var configReply = await _server.Http.GetAsync("/v2/models/identity/config", Ct);
        var config = JsonNode.Parse(await configReply.Content.ReadAsStringAsync(Ct))!;
        config["name"] = "identity_files";

        using (var load = await LoadFiles.HttpLoadAsync(_server, "identity_files", LoadFiles.HttpParameters(config.ToJsonString(), ("1/model.onnx", _onnx))))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "identity_files"));
        Assert.Equal(["identity", "identity_files"], await LoadFiles.IndexNamesAsync(_server));
        var root = LoadFiles.Store(_server).RootPath!;
        Assert.False(root.StartsWith(_repository.Path, StringComparison.Ordinal));
        Assert.Equal(["1/identity_files/1/model.onnx", "1/identity_files/config.pbtxt"], LoadFiles.WrittenFiles(_server));
        Assert.Contains("name: \"identity_files\"", File.ReadAllText(Path.Combine(root, "1", "identity_files", "config.pbtxt")), StringComparison.Ordinal);
        Assert.Equal(["identity"], Directory.EnumerateFileSystemEntries(_repository.Path).Select(Path.GetFileName));

        using (var unload = await _server.Http.PostAsync("/v2/repository/models/identity_files/unload", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }

        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(0, LoadFiles.Store(_server).HeldBytes);
        Assert.Equal(["identity"], await LoadFiles.IndexNamesAsync(_server));
        Assert.Equal(HttpStatusCode.NotFound, await LoadFiles.InferAsync(_server, "identity_files"));
        await AssertReadyAsync();
    }

    [Fact]
    public async Task GrpcLoadWithFiles_HonoursTheVersionFolders_AndServesThem()
    {
        await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("grpc_files", LoadFiles.Config, ("3/model.onnx", _onnx), ("5/model.onnx", _onnx)),
            cancellationToken: Ct);

        var metadata = await _server.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "grpc_files" }, cancellationToken: Ct);
        // The default version policy serves the latest version only, as from a repository.
        Assert.Equal(["5"], metadata.Versions);
        var reply = await _server.Grpc.ModelInferAsync(E2E.RawRequest("grpc_files", "INPUT0", [1, 16], new float[16]), cancellationToken: Ct);
        Assert.Equal("5", reply.ModelVersion);
        var version3 = E2E.RawRequest("grpc_files", "INPUT0", [1, 16], new float[16]);
        version3.ModelVersion = "3";
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.ModelInferAsync(version3, cancellationToken: Ct), StatusCode.NotFound, "version 3");

        var all = """{"backend":"onnxruntime","max_batch_size":8,"instance_group":[{"kind":"KIND_CPU"}],"version_policy":{"all":{}}}""";
        await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("grpc_files", all, ("3/model.onnx", _onnx), ("5/model.onnx", _onnx)), cancellationToken: Ct);

        Assert.Equal(["3", "5"], (await _server.Grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "grpc_files" }, cancellationToken: Ct)).Versions);
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "grpc_files", "3"));
        // The reload replaced the folder it was served from: only the new one is left.
        Assert.Equal(["2/grpc_files/3/model.onnx", "2/grpc_files/5/model.onnx", "2/grpc_files/config.pbtxt"], LoadFiles.WrittenFiles(_server));

        await _server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "grpc_files" }, cancellationToken: Ct);
        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(["identity"], await LoadFiles.IndexNamesAsync(_server));
    }

    [Fact]
    public async Task ReloadWithoutFiles_ReturnsTheModelToTheRepositorysFolder()
    {
        using (var load = await LoadFiles.HttpLoadAsync(_server, "identity", LoadFiles.HttpParameters(LoadFiles.Config, ("7/model.onnx", _onnx))))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "identity", "7"));
        Assert.Equal(HttpStatusCode.NotFound, await LoadFiles.InferAsync(_server, "identity", "1"));
        Assert.NotEmpty(LoadFiles.WrittenFiles(_server));

        using (var reload = await _server.Http.PostAsync("/v2/repository/models/identity/load", null, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "identity", "1"));
        Assert.Equal(HttpStatusCode.NotFound, await LoadFiles.InferAsync(_server, "identity", "7"));
        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(["1", "config.pbtxt"], Directory.EnumerateFileSystemEntries(Path.Combine(_repository.Path, "identity")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Loaded from files again, then unloaded: the folder goes, and a load without files serves the repository's copy.
        await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("identity", LoadFiles.Config, ("7/model.onnx", _onnx)), cancellationToken: Ct);
        await _server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "identity" }, cancellationToken: Ct);
        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(["identity"], await LoadFiles.IndexNamesAsync(_server));
        await _server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "identity" }, cancellationToken: Ct);
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "identity", "1"));
        await AssertReadyAsync();
    }

    [Fact]
    public async Task ANameLoadedFromFilesAlone_CannotBeReloadedWithoutFiles_AndKeepsServing()
    {
        await _server.Grpc.RepositoryModelLoadAsync(LoadFiles.GrpcLoad("only_files", LoadFiles.Config, ("1/model.onnx", _onnx)), cancellationToken: Ct);

        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/only_files/load", null, Ct), HttpStatusCode.NotFound,
            "no such model in the repository");

        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "only_files"));
        await AssertReadyAsync();
    }

    [Fact]
    public async Task TheLoadRoute_TakesBodiesUpToItsOwnLimit_WhileOtherRoutesKeepTheServersLimit()
    {
        // A body between the two limits: the load route reads it (an extra file rides along with the model) ...
        var padding = new byte[100 * 1024];
        var parameters = LoadFiles.HttpParameters(LoadFiles.Config, ("1/model.onnx", _onnx), ("1/padding.bin", padding));
        var body = new JsonObject { ["parameters"] = parameters }.ToJsonString();
        Assert.InRange(body.Length, BodyLimit + 1, LoadBodyLimit);
        using (var load = await _server.Http.PostAsync("/v2/repository/models/padded/load", Kserve.Json(JsonNode.Parse(body)!), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "padded"));

        // ... every other route refuses the same size with 413.
        foreach (var route in new[] { "/v2/repository/index", "/v2/repository/models/padded/unload", "/v2/models/identity/infer" })
        {
            await E2E.AssertErrorAsync(await SendExpectingContinueAsync(route, body.Length), HttpStatusCode.RequestEntityTooLarge,
                $"exceeds the limit of {BodyLimit} bytes");
        }

        // Above its own limit the load route answers 413 too, naming the option.
        await E2E.AssertErrorAsync(await SendExpectingContinueAsync("/v2/repository/models/padded/load", LoadBodyLimit + 1), HttpStatusCode.RequestEntityTooLarge,
            $"request body of {LoadBodyLimit + 1} bytes exceeds the limit of {LoadBodyLimit} bytes", "--max-load-request-body-bytes");

        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "padded"));
        await AssertReadyAsync();
    }

    [Fact]
    public async Task GrpcLoadsAboveTheMessageLimit_AreResourceExhausted()
    {
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(
            LoadFiles.GrpcLoad("too_big", LoadFiles.Config, ("1/model.onnx", _onnx), ("1/padding.bin", new byte[BodyLimit])), cancellationToken: Ct),
            StatusCode.ResourceExhausted);

        Assert.Empty(LoadFiles.WrittenFiles(_server));
        Assert.Equal(["identity"], await LoadFiles.IndexNamesAsync(_server));
        await AssertReadyAsync();
    }

    [Fact]
    public async Task WrittenModelsTogether_StayWithinTheirLimit()
    {
        var padding = new byte[90 * 1024];
        using (var first = await LoadFiles.HttpLoadAsync(_server, "first", LoadFiles.HttpParameters(LoadFiles.Config, ("1/model.onnx", _onnx), ("1/padding.bin", padding))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await E2E.AssertErrorAsync(await LoadFiles.HttpLoadAsync(_server, "second", LoadFiles.HttpParameters(LoadFiles.Config, ("1/model.onnx", _onnx), ("1/padding.bin", padding))),
            HttpStatusCode.BadRequest, "failed to load 'second'", $"over the server's limit of {FilesLimit} bytes (--max-model-files-bytes)");
        Assert.Equal(["first", "identity"], await LoadFiles.IndexNamesAsync(_server));

        await _server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "first" }, cancellationToken: Ct);
        using (var load = await LoadFiles.HttpLoadAsync(_server, "second", LoadFiles.HttpParameters(LoadFiles.Config, ("1/model.onnx", _onnx), ("1/padding.bin", padding))))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await LoadFiles.InferAsync(_server, "second"));
    }

    /// <summary>A POST of <paramref name="length"/> zero bytes with Expect: 100-continue, so the client waits for the
    /// early 413 instead of racing to upload the body.</summary>
    private Task<HttpResponseMessage> SendExpectingContinueAsync(string route, int length)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new ByteArrayContent(new byte[length]) };
        request.Headers.ExpectContinue = true;
        return _server.Http.SendAsync(request, Ct);
    }

    private async Task AssertReadyAsync()
    {
        using var ready = await _server.Http.GetAsync("/v2/health/ready", Ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }
}
