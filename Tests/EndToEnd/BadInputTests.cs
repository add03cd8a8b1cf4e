using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// Bad requests over HTTP and gRPC against the real server: each is answered with the mapped status and a
/// message that says what is wrong, and the server goes on serving good requests afterwards.
/// </summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Http => fixture.Server.Http;

    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => fixture.Server.Grpc;

    private static string Floats(int count) => string.Join(",", Enumerable.Repeat("0.5", count));

    private static string Input(string name, string shape, string datatype, int count) =>
        $$"""{"name":"{{name}}","shape":{{shape}},"datatype":"{{datatype}}","data":[{{(datatype == "FP32" ? Floats(count) : string.Join(",", Enumerable.Repeat("1", count)))}}]}""";

    private static readonly string GoodInput = Input("INPUT0", "[1,16]", "FP32", 16);

    /// <summary>(path, JSON body, status, fragments of the error message).</summary>
    public static TheoryData<string, string, HttpStatusCode, string> JsonCases => new()
    {
        { "/v2/models/no_such_model/infer", $$"""{"inputs":[{{GoodInput}}]}""", HttpStatusCode.NotFound, "Request for unknown model: 'no_such_model' is not found" },
        { "/v2/models/identity/versions/7/infer", $$"""{"inputs":[{{GoodInput}}]}""", HttpStatusCode.NotFound, "'identity' version 7 is not found" },
        { "/v2/models/identity/versions/one/infer", $$"""{"inputs":[{{GoodInput}}]}""", HttpStatusCode.BadRequest, "model version 'one' is not a non-negative integer" },
        { "/v2/models/broken/infer", $$"""{"inputs":[{{GoodInput}}]}""", HttpStatusCode.NotFound, "model 'broken' has no available versions: failed to load 'broken'" },
        { "/v2/models/identity/infer", """{"inputs":[]}""", HttpStatusCode.BadRequest, "model 'identity' requires input 'INPUT0', which the request does not have" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{GoodInput}},{{Input("EXTRA", "[1,16]", "FP32", 16)}}]}""", HttpStatusCode.BadRequest, "unexpected inference input 'EXTRA' for model 'identity'" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{Input("INPUT0", "[1,16]", "INT32", 16)}}]}""", HttpStatusCode.BadRequest, "data-type is 'INT32', but model 'identity' expects 'FP32'" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{Input("INPUT0", "[1,4,4]", "FP32", 16)}}]}""", HttpStatusCode.BadRequest, "unexpected shape for input 'INPUT0' for model 'identity': expected [-1,16], got [1,4,4]" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{Input("INPUT0", "[1,8]", "FP32", 8)}}]}""", HttpStatusCode.BadRequest, "unexpected shape for input 'INPUT0' for model 'identity': expected [-1,16], got [1,8]" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{Input("INPUT0", "[9,16]", "FP32", 144)}}]}""", HttpStatusCode.BadRequest, "batch size 9 exceeds maximum batch size 8 of model 'identity'" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{Input("INPUT0", "[1,16]", "FP32", 15)}}]}""", HttpStatusCode.BadRequest, "input 'INPUT0': data has 15 elements but its shape needs 16" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{GoodInput}}],"outputs":[{"name":"NOPE"}]}""", HttpStatusCode.BadRequest, "unexpected inference output 'NOPE' for model 'identity'; its outputs are ['OUTPUT0']" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{GoodInput}}""", HttpStatusCode.BadRequest, "malformed JSON in request" },
    };

    [Theory]
    [MemberData(nameof(JsonCases))]
    public async Task HttpJsonInfer_BadRequest_IsAnsweredWithStatusAndReason(string path, string body, HttpStatusCode status, string fragment)
    {
        await E2E.AssertErrorAsync(await Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), Ct), status, fragment);

        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task HttpBinaryInfer_BatchAboveMaxBatchSize_IsRejected()
    {
        long[] shape = [9, 3, 64, 64];
        var data = new float[9 * 3 * 64 * 64];

        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/models/resnet_tiny/infer", Kserve.Binary("input", shape, data, "logits"), Ct),
            HttpStatusCode.BadRequest, "batch size 9 exceeds maximum batch size 8 of model 'resnet_tiny'");
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task HttpBinaryInfer_BinaryDataSizeShorterThanTheShape_IsRejected()
    {
        var header = """{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"FP32","parameters":{"binary_data_size":60}}]}""";

        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", Kserve.RawBinary(Encoding.UTF8.GetBytes(header), new byte[60]), Ct),
            HttpStatusCode.BadRequest, "input 'INPUT0': 60 bytes of data do not match 16 elements of FP32 (64 bytes)");
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task HttpBinaryInfer_HeaderLengthBeyondTheBody_IsRejected()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"FP32","parameters":{"binary_data_size":64}}]}""");

        var content = Kserve.RawBinary(header, new byte[64], declaredHeaderLength: header.Length + 1000);

        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", content, Ct), HttpStatusCode.BadRequest,
            $"Inference-Header-Content-Length {header.Length + 1000} is larger than the request body of {header.Length + 64} bytes");
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task HttpInfer_BodyOverTheLimit_Is413WithErrorJson()
    {
        // Expect: 100-continue, so the client waits for the early reply instead of racing to upload the body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer")
        {
            Content = new ByteArrayContent(new byte[ServerFixture.MaxBodyBytes + 1]),
        };
        request.Headers.ExpectContinue = true;

        await E2E.AssertErrorAsync(await Http.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge,
            $"request body of {ServerFixture.MaxBodyBytes + 1} bytes exceeds the limit of {ServerFixture.MaxBodyBytes} bytes");
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task HttpMetadata_UnknownModelVersionOrBadVersion_AreAnsweredWithReasons()
    {
        await E2E.AssertErrorAsync(await Http.GetAsync("/v2/models/no_such_model", Ct), HttpStatusCode.NotFound, "'no_such_model' is not found");
        await E2E.AssertErrorAsync(await Http.GetAsync("/v2/models/identity/versions/7", Ct), HttpStatusCode.NotFound, "version 7 is not found");
        await E2E.AssertErrorAsync(await Http.GetAsync("/v2/models/identity/versions/x/config", Ct), HttpStatusCode.BadRequest, "model version 'x'");
        await E2E.AssertErrorAsync(await Http.GetAsync("/v2/models/broken/config", Ct), HttpStatusCode.NotFound, "model 'broken' has no available versions");
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/v2/models/broken/ready", Ct)).StatusCode);
        await AssertServerStillServesAsync();
    }

    public static TheoryData<string> GrpcCases => new(
        "unknown model", "unknown version", "version not an integer", "model not ready", "missing input", "extra input",
        "wrong datatype", "wrong rank", "wrong shape", "batch above max", "raw contents of the wrong size",
        "raw contents count not matching inputs", "typed contents too short", "unknown output", "message over the limit");

    [Theory]
    [MemberData(nameof(GrpcCases))]
    public async Task GrpcInfer_BadRequest_IsAnsweredWithStatusAndReason(string name)
    {
        var data = Kserve.RandomFloats(16, seed: 21);
        var request = E2E.RawRequest("identity", "INPUT0", [1, 16], data);
        var (code, fragment) = (StatusCode.InvalidArgument, "");
        switch (name)
        {
            case "unknown model":
                request.ModelName = "no_such_model";
                (code, fragment) = (StatusCode.NotFound, "Request for unknown model: 'no_such_model' is not found");
                break;
            case "unknown version":
                request.ModelVersion = "7";
                (code, fragment) = (StatusCode.NotFound, "'identity' version 7 is not found");
                break;
            case "version not an integer":
                request.ModelVersion = "latest";
                fragment = "model version 'latest' is not a non-negative integer";
                break;
            case "model not ready":
                request.ModelName = "broken";
                (code, fragment) = (StatusCode.NotFound, "model 'broken' has no available versions: failed to load 'broken'");
                break;
            case "missing input":
                request.Inputs.Clear();
                request.RawInputContents.Clear();
                fragment = "model 'identity' requires input 'INPUT0'";
                break;
            case "extra input":
                request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "EXTRA", Datatype = "FP32", Shape = { 1, 16 } });
                request.RawInputContents.Add(request.RawInputContents[0]);
                fragment = "unexpected inference input 'EXTRA' for model 'identity'";
                break;
            case "wrong datatype":
                request.Inputs[0].Datatype = "INT32";
                fragment = "data-type is 'INT32', but model 'identity' expects 'FP32'";
                break;
            case "wrong rank":
                request.Inputs[0].Shape.Clear();
                request.Inputs[0].Shape.Add([1, 4, 4]);
                fragment = "unexpected shape for input 'INPUT0' for model 'identity': expected [-1,16], got [1,4,4]";
                break;
            case "wrong shape":
                request.Inputs[0].Shape[1] = 8;
                request.RawInputContents[0] = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan(0, 8)));
                fragment = "unexpected shape for input 'INPUT0' for model 'identity': expected [-1,16], got [1,8]";
                break;
            case "batch above max":
                request = E2E.RawRequest("resnet_tiny", "input", [9, 3, 64, 64], new float[9 * 3 * 64 * 64]);
                fragment = "batch size 9 exceeds maximum batch size 8 of model 'resnet_tiny'";
                break;
            case "raw contents of the wrong size":
                request.RawInputContents[0] = ByteString.CopyFrom(new byte[60]);
                fragment = "input 'INPUT0': 60 bytes of data do not match 16 elements of FP32 (64 bytes)";
                break;
            case "raw contents count not matching inputs":
                request.RawInputContents.Add(ByteString.CopyFrom(new byte[64]));
                fragment = "expected 1 raw_input_contents (one per input not in shared memory), got 2";
                break;
            case "typed contents too short":
                request.RawInputContents.Clear();
                request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { data[..15] } };
                fragment = "input 'INPUT0': contents hold 15 elements but its shape needs 16";
                break;
            case "unknown output":
                request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "NOPE" });
                fragment = "unexpected inference output 'NOPE' for model 'identity'";
                break;
            case "message over the limit":
                request.RawInputContents[0] = ByteString.CopyFrom(new byte[ServerFixture.MaxBodyBytes + 64]);
                (code, fragment) = (StatusCode.ResourceExhausted, "exceeds the maximum");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "no such case");
        }

        await E2E.AssertRpcErrorAsync(async () => await Grpc.ModelInferAsync(request, cancellationToken: Ct), code, fragment);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task GrpcInfer_MessageOfExactlyTheLimit_IsReadAndJudgedOnItsContent()
    {
        // The limit is on the message (as gRPC counts it), not on the HTTP/2 body, which adds a 5-byte frame header.
        var request = E2E.RawRequest("identity", "INPUT0", [1, 16], new float[16]);
        request.RawInputContents[0] = ByteString.CopyFrom(new byte[ServerFixture.MaxBodyBytes - 64]);
        var padding = (int)(ServerFixture.MaxBodyBytes - request.CalculateSize());
        request.RawInputContents[0] = ByteString.CopyFrom(new byte[ServerFixture.MaxBodyBytes - 64 + padding]);
        Assert.Equal(ServerFixture.MaxBodyBytes, request.CalculateSize());

        await E2E.AssertRpcErrorAsync(async () => await Grpc.ModelInferAsync(request, cancellationToken: Ct), StatusCode.InvalidArgument,
            $"input 'INPUT0': {ServerFixture.MaxBodyBytes - 64 + padding} bytes of data do not match 16 elements of FP32 (64 bytes)");
        await AssertServerStillServesAsync();
    }

    /// <summary>(path, JSON body with <c>&lt;FF&gt;</c> standing for the byte 0xFF, fragment of the error message).</summary>
    public static TheoryData<string, string, string> InvalidUtf8Cases => new()
    {
        { "/v2/models/identity/infer", $$"""{"id":"<FF>","inputs":[{{GoodInput}}]}""", "invalid UTF-8 in 'id'" },
        { "/v2/models/identity/infer", """{"inputs":[{"name":"INPUT<FF>","shape":[1,16],"datatype":"FP32","data":[1]}]}""", "invalid UTF-8 in 'inputs[0].name'" },
        { "/v2/models/identity/infer", $$"""{"parameters":{"\ud800":1},"inputs":[{{GoodInput}}]}""", "invalid UTF-8 in a key of 'parameters'" },
        { "/v2/models/identity/infer", $$"""{"inputs":[{{GoodInput}}],"outputs":[{"name":"<FF>"}]}""", "invalid UTF-8 in 'outputs[0].name'" },
        { "/v2/repository/index", """{"ready":true,"<FF>":1}""", "invalid UTF-8 in a key of the request" },
        { "/v2/repository/models/identity/load", """{"parameters":{"config":"{\"max_batch_size\":<FF>}"}}""", "invalid UTF-8 in 'parameters.config'" },
        { "/v2/repository/models/no_such_model/unload", """{"parameters":{"<FF>":true}}""", "invalid UTF-8 in a key of 'parameters'" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Cases))]
    public async Task HttpJsonBody_WithInvalidUtf8_Is400NamingTheField(string path, string body, string fragment)
    {
        var bytes = body.Split("<FF>").Select(Encoding.UTF8.GetBytes).Aggregate((a, b) => [.. a, 0xFF, .. b]);
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        await E2E.AssertErrorAsync(await Http.PostAsync(path, content, Ct), HttpStatusCode.BadRequest, fragment);
        await AssertServerStillServesAsync();
    }

    /// <summary>(method, request bytes protobuf cannot read, its request type).</summary>
    public static TheoryData<string, byte[], string> UnreadableProtobufCases => new()
    {
        { "ServerLive", [0x08, 0x80], "ServerLiveRequest" },
        { "ServerMetadata", [0x0A, 0x05, 0x01], "ServerMetadataRequest" },
        { "ModelReady", [0x0A, 0x02, (byte)'i', 0xFF], "ModelReadyRequest" },
        { "ModelConfig", [0x00, 0x01], "ModelConfigRequest" },
        { "ModelStatistics", [0x0A, 0x01, 0xC0], "ModelStatisticsRequest" },
        { "RepositoryIndex", [0x10, 0xFF], "RepositoryIndexRequest" },
        { "RepositoryModelLoad", [0x1A, 0x03, 0x0A, 0x01, 0xFF], "RepositoryModelLoadRequest" },
        { "RepositoryModelUnload", [0x12, 0x03, 0xED, 0xA0, 0x80], "RepositoryModelUnloadRequest" },
        { "ModelInfer", [0x0A, 0x01, 0xFF], "ModelInferRequest" },
    };

    [Theory]
    [MemberData(nameof(UnreadableProtobufCases))]
    public async Task GrpcRequest_ProtobufCannotRead_IsInvalidArgumentNamingTheRequestType(string method, byte[] payload, string requestType)
    {
        var raw = Marshallers.Create((byte[] b) => b, b => b);
        var call = new Method<byte[], byte[]>(MethodType.Unary, "inference.GRPCInferenceService", method, raw, raw);

        await E2E.AssertRpcErrorAsync(async () => await fixture.Server.Channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(cancellationToken: Ct), payload),
            StatusCode.InvalidArgument, $"malformed {requestType}: ");
        await AssertServerStillServesAsync();
    }

    /// <summary>A good request over each protocol succeeds with the right answer.</summary>
    private async Task AssertServerStillServesAsync()
    {
        var data = Kserve.RandomFloats(16, seed: 99);
        var body = new JsonObject { ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], data)) };
        using var http = await Http.PostAsync("/v2/models/identity/infer", Kserve.Json(body), Ct);
        Assert.Equal(HttpStatusCode.OK, http.StatusCode);
        var output = JsonNode.Parse(await http.Content.ReadAsStringAsync(Ct))!["outputs"]![0]!["data"]!.AsArray();
        Assert.Equal(data, output.Select(v => v!.GetValue<float>()));

        var reply = await Grpc.ModelInferAsync(E2E.RawRequest("identity", "INPUT0", [1, 16], data), cancellationToken: Ct);
        Assert.Equal(data, E2E.Floats(reply.RawOutputContents[0]));
    }
}
