using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Inference.Server.ModelTools;
using Inference.Server.Protos;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Errors shaped as Triton's over the real server: unknown routes and methods answer JSON, error classes map to
/// Triton's HTTP statuses and gRPC codes, unloading an unknown model is an error that leaves the index alone, and a
/// request's timeout is honoured only as the queue policy allows (Triton's allow_timeout_override).
/// </summary>
public sealed class TritonErrorShapeTests : IAsyncLifetime
{
    private const string Input = """{"name":"INPUT0","shape":[1,16],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}""";

    /// <summary>Long enough that a request with a 1 ms timeout in the queue expires long before the batch forms.</summary>
    private const int BatchingDelayMicroseconds = 3_000_000;

    private readonly TempDirectory _repository = new();
    private ServerHost _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        IdentityModelBuilder.Write(_repository.Path, "identity", width: 16, maxBatchSize: 8);
        Directory.CreateDirectory(Path.Combine(_repository.Path, "broken", "1"));
        await File.WriteAllTextAsync(Path.Combine(_repository.Path, "broken", "1", "model.onnx"), "this is not an onnx file", Ct);
        var halfBroken = IdentityModelBuilder.Write(_repository.Path, "half_broken", width: 16, maxBatchSize: 8);
        File.AppendAllText(Path.Combine(halfBroken, "config.pbtxt"), "version_policy: { all { } }\n");
        Directory.CreateDirectory(Path.Combine(halfBroken, "2"));
        File.Move(Path.Combine(halfBroken, "1", "model.onnx"), Path.Combine(halfBroken, "2", "model.onnx"));
        await File.WriteAllTextAsync(Path.Combine(halfBroken, "1", "model.onnx"), "this is not an onnx file", Ct);
        WriteQueued("override_no_default", "allow_timeout_override: true");
        WriteQueued("override_with_default", "allow_timeout_override: true default_timeout_microseconds: 60000000");
        WriteQueued("no_override", "default_timeout_microseconds: 60000000");
        _server = await ServerHost.StartAsync(_repository.Path, "--model-control-mode=explicit", "--load-model=*", "--strict-readiness=false");
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    private void WriteQueued(string name, string policy)
    {
        var folder = IdentityModelBuilder.Write(_repository.Path, name, width: 16, maxBatchSize: 64, maxQueueDelayMicroseconds: null);
        File.AppendAllText(Path.Combine(folder, "config.pbtxt"),
            $"dynamic_batching {{ max_queue_delay_microseconds: {BatchingDelayMicroseconds} default_queue_policy {{ {policy} }} }}\n");
    }

    private Task<HttpResponseMessage> InferAsync(string path, string parameters = "") =>
        _server.Http.PostAsync(path, new StringContent($$"""{"inputs":[{{Input}}]{{parameters}}}"""), Ct);

    [Theory]
    [InlineData("GET", "/nope")]
    [InlineData("GET", "/v2/nope")]
    [InlineData("POST", "/v2/models/identity/nope")]
    [InlineData("GET", "/v2/models/identity/versions/1/nope")]
    [InlineData("POST", "/v2/repository/models/identity/reload")]
    public async Task UnknownRoute_Is404WithTritonsJsonError(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        var message = await E2E.AssertErrorAsync(await _server.Http.SendAsync(request, Ct), HttpStatusCode.NotFound);

        Assert.Equal("Not Found", message);
    }

    [Theory]
    [InlineData("GET", "/v2/models/identity/infer")]
    [InlineData("DELETE", "/v2/health/live")]
    [InlineData("PUT", "/v2/repository/index")]
    public async Task KnownRouteWithAnotherMethod_Is405WithTritonsJsonError(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        var message = await E2E.AssertErrorAsync(await _server.Http.SendAsync(request, Ct), HttpStatusCode.MethodNotAllowed);

        Assert.Equal("Method Not Allowed", message);
    }

    [Fact]
    public async Task Health_KeepsItsEmptyBodies()
    {
        using var ready = await _server.Http.GetAsync("/v2/health/ready", Ct);
        using var notReady = await _server.Http.GetAsync("/v2/models/broken/ready", Ct);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notReady.StatusCode);
        Assert.Empty(await notReady.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task ErrorClasses_MapToTritonsHttpStatusesAndGrpcCodes()
    {
        // NOT_FOUND: no version to serve.
        await E2E.AssertErrorAsync(await InferAsync("/v2/models/broken/infer"), HttpStatusCode.NotFound, "model 'broken' has no available versions");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.ModelInferAsync(GrpcRequest("broken"), cancellationToken: Ct),
            StatusCode.NotFound, "model 'broken' has no available versions");
        // UNAVAILABLE: a named version that is not ready.
        await E2E.AssertErrorAsync(await InferAsync("/v2/models/half_broken/versions/1/infer"), HttpStatusCode.ServiceUnavailable, "model 'half_broken' version 1 is not ready");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.ModelInferAsync(GrpcRequest("half_broken", "1"), cancellationToken: Ct),
            StatusCode.Unavailable, "model 'half_broken' version 1 is not ready");
        using (var servedVersion = await InferAsync("/v2/models/half_broken/versions/2/infer"))
        {
            Assert.Equal(HttpStatusCode.OK, servedVersion.StatusCode);
        }
        // INVALID_ARG: model files in a load request that are not a model.
        var files = new JsonObject { ["parameters"] = new JsonObject { ["config"] = "{}", ["file:1/model.onnx"] = "AQID" } };
        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/not_a_model/load", new StringContent(files.ToJsonString()), Ct),
            HttpStatusCode.BadRequest, "failed to load 'not_a_model'");
        // INVALID_ARG: a failed load, whatever failed.
        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/broken/load", null, Ct), HttpStatusCode.BadRequest, "broken");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "broken" }, cancellationToken: Ct),
            StatusCode.InvalidArgument, "broken");

        using var ok = await InferAsync("/v2/models/identity/infer");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task UnloadOfAnUnknownModel_IsAnError_AndAddsNoIndexEntry()
    {
        var before = await IndexNamesAsync();

        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/phantom/unload", null, Ct), HttpStatusCode.NotFound,
            "failed to unload 'phantom': no such model in the repository");
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "phantom2" }, cancellationToken: Ct),
            StatusCode.NotFound, "failed to unload 'phantom2': no such model in the repository");
        await E2E.AssertErrorAsync(await _server.Http.PostAsync("/v2/repository/models/..%2Fetc/unload", null, Ct), HttpStatusCode.BadRequest, "failed to unload");

        Assert.Equal(before, await IndexNamesAsync());
        Assert.DoesNotContain("phantom", before);
        var index = await _server.Grpc.RepositoryIndexAsync(new RepositoryIndexRequest(), cancellationToken: Ct);
        Assert.DoesNotContain(index.Models, m => m.Name.StartsWith("phantom", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TimeoutOverride_WithADefaultOf0_IgnoresTheRequestTimeout()
    {
        // Triton lowers the default timeout only: with no default there is nothing to lower. The request waits out the
        // batching delay and is served.
        using var served = await InferAsync("/v2/models/override_no_default/infer", ""","parameters":{"timeout":1000}""");

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task TimeoutOverride_WithADefault_LetsTheRequestLowerIt()
    {
        await E2E.AssertErrorAsync(await InferAsync("/v2/models/override_with_default/infer", ""","parameters":{"timeout":1000}"""),
            HttpStatusCode.ServiceUnavailable, "Request timeout expired");
        var grpc = GrpcRequest("override_with_default");
        grpc.Parameters["timeout"] = new InferParameter { Int64Param = 1000 };
        await E2E.AssertRpcErrorAsync(async () => await _server.Grpc.ModelInferAsync(grpc, cancellationToken: Ct), StatusCode.Unavailable, "Request timeout expired");
    }

    [Fact]
    public async Task TimeoutOverrideNotAllowed_IgnoresTheRequestTimeout()
    {
        using var served = await InferAsync("/v2/models/no_override/infer", ""","parameters":{"timeout":1000}""");

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    private static ModelInferRequest GrpcRequest(string model, string version = "")
    {
        var request = E2E.RawRequest(model, "INPUT0", [1, 16], new float[16]);
        request.ModelVersion = version;
        return request;
    }

    private async Task<List<string>> IndexNamesAsync()
    {
        using var response = await _server.Http.PostAsync("/v2/repository/index", null, Ct);
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray().Select(r => r!["name"]!.GetValue<string>())];
    }
}
