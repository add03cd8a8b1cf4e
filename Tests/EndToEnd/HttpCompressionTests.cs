using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// HTTP Content-Encoding over the real server, as Triton's HTTP frontend: gzip and deflate request bodies are decoded
/// (the body limit counting decoded bytes), other codings are a 415, a body that is not of its declared coding is a
/// 400, and replies are compressed when Accept-Encoding asks.
/// </summary>
public sealed class HttpCompressionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private HttpClient Http => fixture.Server.Http;

    private static readonly float[] Data = Kserve.RandomFloats(16, seed: 5);

    private static byte[] JsonInferBody() => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["inputs"] = new JsonArray(Kserve.JsonInput("INPUT0", [1, 16], Data)),
    }.ToJsonString());

    private static byte[] Compress(byte[] data, string coding)
    {
        using var output = new MemoryStream();
        using (Stream encoder = coding == "gzip"
                   ? new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)
                   : new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            encoder.Write(data);
        }
        return output.ToArray();
    }

    private static byte[] Decompress(byte[] data, string coding)
    {
        using var input = new MemoryStream(data);
        using Stream decoder = coding == "gzip" ? new GZipStream(input, CompressionMode.Decompress) : new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    private static ByteArrayContent Encoded(byte[] body, string? coding, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (coding is not null)
        {
            content.Headers.ContentEncoding.Add(coding);
        }
        return content;
    }

    private static float[] Output0(JsonNode reply) =>
        [.. reply["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<float>())];

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("GZip")]
    public async Task CompressedJsonRequest_IsDecodedAndServed(string coding)
    {
        using var response = await Http.PostAsync("/v2/models/identity/infer", Encoded(Compress(JsonInferBody(), coding.ToLowerInvariant()), coding), Ct);

        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(Data, Output0(JsonNode.Parse(text)!));
    }

    [Fact]
    public async Task CompressedBinaryRequest_KeepsItsHeaderLengthOfTheDecodedBody()
    {
        var plain = Kserve.Binary("INPUT0", [1, 16], Data, "OUTPUT0");
        var bytes = await plain.ReadAsByteArrayAsync(Ct);
        var content = Encoded(Compress(bytes, "deflate"), "deflate", "application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", plain.Headers.GetValues("Inference-Header-Content-Length"));

        using var response = await Http.PostAsync("/v2/models/identity/infer", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, payload) = await Kserve.ReadBinaryAsync(response);
        Assert.Equal(Data, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(payload).ToArray());
    }

    [Fact]
    public async Task CompressedControlRequest_IsDecoded()
    {
        var body = Compress("""{"ready": true}"""u8.ToArray(), "gzip");

        using var response = await Http.PostAsync("/v2/repository/index", Encoded(body, "gzip"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsArray(), r => r!["name"]!.GetValue<string>() == "identity");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task ZipBomb_IsA413AtTheLimitOfTheDecodedSize_AndTheServerKeepsServing(string coding)
    {
        // 16x the limit of zeros, which compress to a tiny body well under the limit.
        var bomb = Compress(new byte[ServerFixture.MaxBodyBytes * 16], coding);
        Assert.True(bomb.Length < ServerFixture.MaxBodyBytes / 16);

        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", Encoded(bomb, coding), Ct),
            HttpStatusCode.RequestEntityTooLarge, $"decompressed request body exceeds the limit of {ServerFixture.MaxBodyBytes} bytes");

        await AssertServesAsync();
    }

    [Theory]
    [InlineData("xyz")]
    [InlineData("br")]
    [InlineData("gzip, deflate")]
    public async Task UnsupportedEncoding_IsA415NamingTheSupportedOnes(string coding)
    {
        var content = Encoded(JsonInferBody(), null);
        content.Headers.TryAddWithoutValidation("Content-Encoding", coding);

        using var response = await Http.PostAsync("/v2/models/identity/infer", content, Ct);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("gzip, deflate", string.Join(", ", response.Headers.GetValues("Accept-Encoding")));
        await E2E.AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "Unsupported compression type", "gzip, deflate");
    }

    [Fact]
    public async Task IdentityEncoding_IsReadAsIs()
    {
        using var response = await Http.PostAsync("/v2/models/identity/infer", Encoded(JsonInferBody(), "identity"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task DeclaredCodingOnAPlainBody_IsA400SayingTheBodyIsNotOfThatCoding(string coding)
    {
        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/models/identity/infer", Encoded(JsonInferBody(), coding), Ct),
            HttpStatusCode.BadRequest, $"the request body is not valid {coding} data");
        await E2E.AssertErrorAsync(await Http.PostAsync("/v2/repository/index", Encoded("{}"u8.ToArray(), coding), Ct),
            HttpStatusCode.BadRequest, $"the request body is not valid {coding} data");

        await AssertServesAsync();
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("deflate", "deflate")]
    [InlineData("gzip;q=0.5, deflate;q=0.9", "deflate")]
    [InlineData("deflate;q=0.1, gzip", "gzip")]
    public async Task AcceptEncoding_CompressesTheJsonReply(string accept, string expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer") { Content = Encoded(JsonInferBody(), null) };
        request.Headers.TryAddWithoutValidation("Accept-Encoding", accept);

        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([expected], response.Content.Headers.ContentEncoding);
        var reply = Decompress(await response.Content.ReadAsByteArrayAsync(Ct), expected);
        Assert.Equal(Data, Output0(JsonNode.Parse(reply)!));
    }

    [Fact]
    public async Task AcceptEncoding_CompressesTheBinaryReply_AndItsHeaderLengthCountsTheDecodedHeader()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer") { Content = Kserve.Binary("INPUT0", [1, 16], Data, "OUTPUT0") };
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");

        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        var body = Decompress(await response.Content.ReadAsByteArrayAsync(Ct), "gzip");
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotNull(JsonNode.Parse(body.AsSpan(0, headerLength)));
        Assert.Equal(Data, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength)).ToArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("identity")]
    [InlineData("br")]
    public async Task WithoutAnAcceptedCoding_TheReplyIsPlain(string? accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/identity/infer") { Content = Encoded(JsonInferBody(), null) };
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", accept);
        }

        using var response = await Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(Data, Output0(JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!));
    }

    private async Task AssertServesAsync()
    {
        using var response = await Http.PostAsync("/v2/models/identity/infer", Encoded(JsonInferBody(), null), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
