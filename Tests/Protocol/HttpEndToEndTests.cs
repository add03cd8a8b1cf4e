using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Inference.Server.Protocol.Http;

namespace Inference.Tests.Protocol;

public class HttpEndToEndTests(ProtocolHostFixture fixture) : IClassFixture<ProtocolHostFixture>
{
    private ReferenceInferenceServer Server => fixture.Host.Server;

    private HttpClient Http => fixture.Host.Http;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ServerMetadata_ListsNameVersionAndExtensions()
    {
        using var doc = await GetJsonAsync("/v2");

        Assert.Equal("reference", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal("0.1", doc.RootElement.GetProperty("version").GetString());
        Assert.Contains("binary_tensor_data", doc.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Health_FollowsTheServer_200Or400()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/live", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/health/ready", Ct)).StatusCode);
        Server.Ready = false;
        try
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/v2/health/ready", Ct)).StatusCode);
        }
        finally
        {
            Server.Ready = true;
        }
    }

    [Fact]
    public async Task ModelReady_ReadyModel200_NotReadyModel400_BadVersion400()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/identity/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/identity/versions/1/ready", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/v2/models/not_ready/ready", Ct)).StatusCode);
        await AssertErrorAsync(await Http.GetAsync("/v2/models/identity/versions/one/ready", Ct), HttpStatusCode.BadRequest, "not a non-negative integer");
    }

    [Fact]
    public async Task ModelMetadata_HasWireDatatypesAndShapes()
    {
        using var doc = await GetJsonAsync("/v2/models/identity/versions/1");

        Assert.Equal("identity", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal("[\"1\"]", doc.RootElement.GetProperty("versions").GetRawText());
        var input = doc.RootElement.GetProperty("inputs")[0];
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal("[-1,16]", input.GetProperty("shape").GetRawText());
        await AssertErrorAsync(await Http.GetAsync("/v2/models/nope", Ct), HttpStatusCode.NotFound, "unknown model 'nope'");
    }

    [Fact]
    public async Task ModelConfig_IsTritonsJson()
    {
        using var doc = await GetJsonAsync("/v2/models/identity/config");

        Assert.Equal(8, doc.RootElement.GetProperty("max_batch_size").GetInt32());
        Assert.Equal("TYPE_FP32", doc.RootElement.GetProperty("input")[0].GetProperty("data_type").GetString());
        Assert.Equal("[16]", doc.RootElement.GetProperty("input")[0].GetProperty("dims").GetRawText());
    }

    [Fact]
    public async Task Infer_Json_RoundTripsThroughTheServer()
    {
        var body = """
            {"id":"abc","parameters":{"priority":1,"timeout":250,"tag":"t"},
             "inputs":[{"name":"INPUT0","shape":[2,2],"datatype":"FP32","data":[[1.5,2],[3,4]]}]}
            """;

        using var response = await PostJsonAsync("/v2/models/identity/versions/1/infer", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("abc", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal("1", doc.RootElement.GetProperty("model_version").GetString());
        var output = doc.RootElement.GetProperty("outputs")[0];
        Assert.Equal("OUTPUT0", output.GetProperty("name").GetString());
        Assert.Equal("[2,2]", output.GetProperty("shape").GetRawText());
        Assert.Equal("[1.5,2,3,4]", output.GetProperty("data").GetRawText());
        var recorded = Server.LastRequest!;
        Assert.Equal((1u, 250ul, 1L, "t"), (recorded.Priority, recorded.TimeoutMicroseconds, recorded.Version, recorded.Parameters!["tag"]));
    }

    [Fact]
    public async Task Infer_BinaryRequestAndResponse_UsesInferenceHeaderContentLength()
    {
        var header = """
            {"inputs":[{"name":"INPUT0","shape":[3],"datatype":"INT64","parameters":{"binary_data_size":24}}],
             "outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}
            """u8.ToArray();
        var raw = new byte[24];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), (i + 1) * 1_000_000_000_000L);
        }
        var content = new ByteArrayContent([.. header, .. raw]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add(InferResponseWriter.HeaderLengthHeader, header.Length.ToString());

        using var response = await Http.PostAsync("/v2/models/identity/infer", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        var jsonLength = int.Parse(response.Headers.GetValues(InferResponseWriter.HeaderLengthHeader).Single());
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
        using var doc = JsonDocument.Parse(bytes.AsMemory(0, jsonLength));
        var output = doc.RootElement.GetProperty("outputs")[0];
        Assert.Equal("INT64", output.GetProperty("datatype").GetString());
        Assert.Equal(24, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(raw, bytes[jsonLength..]);
    }

    [Fact]
    public async Task Infer_BinaryDataOutputParameter_MakesEveryOutputBinary()
    {
        using var response = await PostJsonAsync("/v2/models/identity/infer",
            """{"parameters":{"binary_data_output":true},"inputs":[{"name":"INPUT0","shape":[1],"datatype":"UINT8","data":[200]}]}""");

        var jsonLength = int.Parse(response.Headers.GetValues(InferResponseWriter.HeaderLengthHeader).Single());
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(new byte[] { 200 }, bytes[jsonLength..]);
    }

    [Fact]
    public async Task Infer_Classification_PassesTopNStringsThroughAsBytes()
    {
        using var response = await PostJsonAsync("/v2/models/identity/infer", """
            {"inputs":[{"name":"INPUT0","shape":[4],"datatype":"FP32","data":[0.1,0.7,0.05,0.15]}],
             "outputs":[{"name":"OUTPUT0","parameters":{"classification":2}}]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var output = doc.RootElement.GetProperty("outputs")[0];
        Assert.Equal("BYTES", output.GetProperty("datatype").GetString());
        Assert.Equal(["0.700000:1", "0.150000:3"], output.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Infer_BytesInputAsJsonStrings_ComesBackAsStrings()
    {
        using var response = await PostJsonAsync("/v2/models/identity/infer",
            """{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"BYTES","data":["hello","wörld"]}]}""");

        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("""["hello","wörld"]""", doc.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Theory]
    [InlineData("{\"inputs\":[{\"name\":\"INPUT0\",", HttpStatusCode.BadRequest, "malformed JSON in request at line 1")]
    [InlineData("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1],\"datatype\":\"FP8\",\"data\":[1]}]}", HttpStatusCode.BadRequest, "unknown datatype 'FP8'")]
    [InlineData("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1]}]}", HttpStatusCode.BadRequest, "data has 1 elements but its shape needs 3")]
    [InlineData("{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", HttpStatusCode.BadRequest, "missing 'name'")]
    [InlineData("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1],\"datatype\":\"FP16\",\"data\":[1]}]}", HttpStatusCode.BadRequest, "FP16 data via JSON is not supported")]
    [InlineData("{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],\"outputs\":[{\"name\":\"NOPE\"}]}", HttpStatusCode.BadRequest, "unexpected inference output 'NOPE'")]
    public async Task Infer_BadInput_ReturnsStatusAndErrorJson(string body, HttpStatusCode status, string message)
    {
        await AssertErrorAsync(await PostJsonAsync("/v2/models/identity/infer", body), status, message);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task Infer_ModelErrors_MapToTritonStatuses()
    {
        const string body = """{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":[1]}]}""";
        await AssertErrorAsync(await PostJsonAsync("/v2/models/nope/infer", body), HttpStatusCode.NotFound, "unknown model 'nope'");
        await AssertErrorAsync(await PostJsonAsync("/v2/models/not_ready/infer", body), HttpStatusCode.ServiceUnavailable, "is not ready");
        await AssertErrorAsync(await PostJsonAsync("/v2/models/identity/versions/1.5/infer", body), HttpStatusCode.BadRequest, "not a non-negative integer");
    }

    [Fact]
    public async Task Infer_ServerThrows_Is500ErrorJsonWithoutTheExceptionsMessage_AndServingGoesOn()
    {
        const string body = """{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":[1]}]}""";

        // The exception's message stays in the log: it may name paths of the machine.
        var message = await AssertErrorAsync(await PostJsonAsync("/v2/models/explodes/infer", body), HttpStatusCode.InternalServerError, "internal error (request ");
        Assert.DoesNotContain("/srv/secret", message, StringComparison.Ordinal);
        Assert.DoesNotContain("bug on purpose", message, StringComparison.Ordinal);
        await AssertServerStillServesAsync();
    }

    [Theory]
    [InlineData("abc", "Unable to parse Inference-Header-Content-Length")]
    [InlineData("-5", "Unable to parse Inference-Header-Content-Length")]
    [InlineData("100000", "larger than the request body")]
    public async Task Infer_BadInferenceHeaderContentLength_Is400(string value, string message)
    {
        var content = new StringContent("""{"inputs":[]}""", Encoding.UTF8, "application/json");
        content.Headers.Add(InferResponseWriter.HeaderLengthHeader, value);

        await AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", content, Ct), HttpStatusCode.BadRequest, message);
    }

    [Fact]
    public async Task Infer_BinaryDataSizeBeyondBody_Is400()
    {
        var header = """{"inputs":[{"name":"INPUT0","shape":[4],"datatype":"FP32","parameters":{"binary_data_size":16}}]}"""u8.ToArray();
        var content = new ByteArrayContent([.. header, .. new byte[8]]);
        content.Headers.Add(InferResponseWriter.HeaderLengthHeader, header.Length.ToString());

        await AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", content, Ct), HttpStatusCode.BadRequest, "binary_data_size 16 exceeds");
    }

    [Fact]
    public async Task Infer_BodyOverTheLimit_Is413WithErrorJson()
    {
        // Expect: 100-continue, so the client waits for the early 413 instead of racing to upload the body.
        var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer")
        {
            Content = new ByteArrayContent(new byte[ProtocolTestHost.MaxBodyBytes + 1]),
        };
        request.Headers.ExpectContinue = true;

        await AssertErrorAsync(await Http.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge, "exceeds the limit");
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task Infer_BodyOfUnknownLengthOverTheLimit_IsKestrels413AsErrorJson()
    {
        // No Content-Length: Kestrel itself stops the body at MaxRequestBodySize (BadHttpRequestException).
        // HTTP/2 (h2c), so that the early reply cannot be lost to a connection reset while the client still sends.
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Host.Http2Address, "/v2/models/identity/infer"))
        {
            Content = new StreamContent(new UnknownLengthStream(new byte[ProtocolTestHost.MaxBodyBytes + 4096])),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await Http.SendAsync(request, Ct);

        Assert.Null(request.Content.Headers.ContentLength);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
    }

    /// <summary>A readable stream that hides its length, so the client cannot send a Content-Length.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task Statistics_HaveTritonsJsonShape()
    {
        using (await PostJsonAsync("/v2/models/identity/infer", """{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":[1]}]}"""))
        {
        }

        using var all = await GetJsonAsync("/v2/models/stats");
        using var one = await GetJsonAsync("/v2/models/identity/versions/1/stats");

        var m = one.RootElement.GetProperty("model_stats")[0];
        Assert.Equal("identity", m.GetProperty("name").GetString());
        Assert.Equal("1", m.GetProperty("version").GetString());
        Assert.True(m.GetProperty("inference_count").GetInt64() >= 1);
        Assert.True(m.GetProperty("execution_count").GetInt64() >= 1);
        Assert.Equal(1_700_000_000_000, m.GetProperty("last_inference").GetInt64());
        var stats = m.GetProperty("inference_stats");
        foreach (var key in new[] { "success", "fail", "queue", "compute_input", "compute_infer", "compute_output", "cache_hit", "cache_miss" })
        {
            Assert.Equal(JsonValueKind.Number, stats.GetProperty(key).GetProperty("count").ValueKind);
            Assert.Equal(JsonValueKind.Number, stats.GetProperty(key).GetProperty("ns").ValueKind);
        }
        Assert.Equal(1, m.GetProperty("batch_stats")[0].GetProperty("batch_size").GetInt32());
        Assert.Equal(JsonValueKind.Number, m.GetProperty("batch_stats")[0].GetProperty("compute_infer").GetProperty("ns").ValueKind);
        Assert.Equal(1, all.RootElement.GetProperty("model_stats").GetArrayLength());
        await AssertErrorAsync(await Http.GetAsync("/v2/models/nope/stats", Ct), HttpStatusCode.NotFound, "unknown model");
    }

    [Fact]
    public async Task RepositoryIndex_ListsModelsAndHonoursReady()
    {
        using var all = JsonDocument.Parse(await (await Http.PostAsync("/v2/repository/index", null, Ct)).Content.ReadAsStringAsync(Ct));
        using var ready = JsonDocument.Parse(await (await PostJsonAsync("/v2/repository/index", """{"ready":true}""")).Content.ReadAsStringAsync(Ct));

        Assert.Equal(2, all.RootElement.GetArrayLength());
        var notReady = all.RootElement[1];
        Assert.Equal(("not_ready", "1", "UNAVAILABLE", "never loads"),
            (notReady.GetProperty("name").GetString(), notReady.GetProperty("version").GetString(), notReady.GetProperty("state").GetString(), notReady.GetProperty("reason").GetString()));
        Assert.Equal(1, ready.RootElement.GetArrayLength());
        await AssertErrorAsync(await PostJsonAsync("/v2/repository/index", """{"ready":"yes"}"""), HttpStatusCode.BadRequest, "'ready' must be a boolean");
    }

    [Fact]
    public async Task RepositoryLoadAndUnload_PassConfigOverrideAndMapErrors()
    {
        var config = """{"max_batch_size":4}""";
        var body = JsonSerializer.Serialize(new { parameters = new { config } });

        Assert.Equal(HttpStatusCode.OK, (await PostJsonAsync("/v2/repository/models/identity/load", body)).StatusCode);
        Assert.Equal(config, Server.LastLoadedConfig);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/v2/repository/models/identity/load", null, Ct)).StatusCode);
        Assert.Null(Server.LastLoadedConfig);
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/v2/repository/models/identity/unload", null, Ct)).StatusCode);
        await AssertErrorAsync(await Http.PostAsync("/v2/repository/models/nope/load", null, Ct), HttpStatusCode.NotFound, "no model 'nope'");
        await AssertErrorAsync(await PostJsonAsync("/v2/repository/models/identity/load", """{"parameters":{"config":{}}}"""), HttpStatusCode.BadRequest, "must be a string");
        await AssertErrorAsync(await PostJsonAsync("/v2/repository/models/identity/load", "{oops"), HttpStatusCode.BadRequest, "malformed JSON");
    }

    private async Task AssertServerStillServesAsync()
    {
        using var response = await PostJsonAsync("/v2/models/identity/infer", """{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"INT8","data":[-3]}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string message)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            var error = doc.RootElement.GetProperty("error").GetString()!;
            Assert.Contains(message, error);
            return error;
        }
    }

    private async Task<JsonDocument> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
    }

    private Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), Ct);
}
