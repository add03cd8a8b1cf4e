using System.Net;
using System.Text;
using System.Text.Json;
using Inference.Server.Protocol.Http;

namespace Inference.Tests.Protocol;

/// <summary>
/// JSON bodies that are not valid text (bytes that are not UTF-8, <c>\u</c> escapes of unpaired surrogates) or that
/// the reader cannot take (numbers beyond a double, nesting past the depth limit) on every HTTP route that reads
/// a body: each is a 400 <c>{"error":...}</c> that names the field, never a 500, and the server goes on serving.
/// </summary>
public class HttpInvalidJsonTests(ProtocolHostFixture fixture) : IClassFixture<ProtocolHostFixture>
{
    private const string Infer = "/v2/models/identity/infer";
    private const string Index = "/v2/repository/index";
    private const string Load = "/v2/repository/models/identity/load";
    private const string Unload = "/v2/repository/models/identity/unload";

    private const string Input = """{"name":"INPUT0","shape":[1],"datatype":"INT8","data":[1]}""";

    private HttpClient Http => fixture.Host.Http;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>(route, body with <c>&lt;FF&gt;</c> standing for the byte 0xFF, fragment of the error message).</summary>
    public static TheoryData<string, string, string> InvalidTextCases => new()
    {
        { Infer, $$"""{"id":"a<FF>","inputs":[{{Input}}]}""", "invalid UTF-8 in 'id'" },
        { Infer, $$"""{"id":"\ud800","inputs":[{{Input}}]}""", "invalid UTF-8 in 'id': a \\u escape of an unpaired surrogate" },
        { Infer, """{"inputs":[{"name":"IN<FF>","shape":[1],"datatype":"INT8","data":[1]}]}""", "invalid UTF-8 in 'inputs[0].name'" },
        { Infer, """{"inputs":[{"name":"\udc00","shape":[1],"datatype":"INT8","data":[1]}]}""", "invalid UTF-8 in 'inputs[0].name'" },
        { Infer, $$"""{"inputs":[{{Input}},{"name":"B","shape":[1],"datatype":"IN<FF>","data":[1]}]}""", "invalid UTF-8 in 'inputs[1].datatype'" },
        { Infer, """{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"BYTES","data":["ok","<FF>"]}]}""", "invalid UTF-8 in 'inputs[0].data[1]'" },
        { Infer, """{"inputs":[{"name":"INPUT0","shape":[1,2],"datatype":"BYTES","data":[["ok","\ud83d"]]}]}""", "invalid UTF-8 in 'inputs[0].data[0][1]'" },
        { Infer, """{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"INT8","parameters":{"k<FF>":1},"data":[1]}]}""", "invalid UTF-8 in a key of 'inputs[0].parameters'" },
        { Infer, $$"""{"parameters":{"k<FF>":"v"},"inputs":[{{Input}}]}""", "invalid UTF-8 in a key of 'parameters'" },
        { Infer, $$"""{"parameters":{"tag":"v<FF>"},"inputs":[{{Input}}]}""", "invalid UTF-8 in 'parameters.tag'" },
        { Infer, $$"""{"inputs":[{{Input}}],"outputs":[{"name":"OUT<FF>"}]}""", "invalid UTF-8 in 'outputs[0].name'" },
        { Infer, $$$"""{"inputs":[{{{Input}}}],"outputs":[{"name":"OUTPUT0","parameters":{"\udfff":true}}]}""", "invalid UTF-8 in a key of 'outputs[0].parameters'" },
        { Infer, $$"""{"x<FF>":1,"inputs":[{{Input}}]}""", "invalid UTF-8 in a key of the request" },
        { Infer, $$"""{"\ud800\u0041":1,"inputs":[{{Input}}]}""", "invalid UTF-8 in a key of the request" },
        { Infer, $$"""{"extra":["<FF>"],"inputs":[{{Input}}]}""", "invalid UTF-8 in 'extra[0]'" },
        { Index, """{"ready":"<FF>"}""", "invalid UTF-8 in 'ready'" },
        { Index, """{"r<FF>":true}""", "invalid UTF-8 in a key of the request" },
        { Index, """{"\ud800":true}""", "invalid UTF-8 in a key of the request" },
        { Load, """{"parameters":{"config":"{\"name\":\"<FF>\"}"}}""", "invalid UTF-8 in 'parameters.config'" },
        { Load, """{"parameters":{"config":"{\"name\":\"\udbff\"}"}}""", "invalid UTF-8 in 'parameters.config'" },
        { Load, """{"parameters":{"<FF>":"x"}}""", "invalid UTF-8 in a key of 'parameters'" },
        { Unload, """{"parameters":{"unload_dependents":"<FF>"}}""", "invalid UTF-8 in 'parameters.unload_dependents'" },
        { Unload, """{"\udc00":1}""", "invalid UTF-8 in a key of the request" },
    };

    [Theory]
    [MemberData(nameof(InvalidTextCases))]
    public async Task JsonBody_WithInvalidText_Is400NamingTheField(string route, string body, string fragment)
    {
        await AssertErrorAsync(await PostAsync(route, Bytes(body)), HttpStatusCode.BadRequest, fragment);

        await AssertServerStillServesAsync();
    }

    /// <summary>(route, body, fragment): what the reader rejects or cannot convert, beyond text.</summary>
    public static TheoryData<string, string, string> UnreadableCases => new()
    {
        { Infer, $$"""{"parameters":{"big":1e400},"inputs":[{{Input}}]}""", "parameter 'big' is a number beyond the range of a double" },
        { Infer, $$"""{"parameters":{"small":-1e400},"inputs":[{{Input}}]}""", "parameter 'small' is a number beyond the range of a double" },
        { Infer, $$"""{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"INT8","data":{{Nested(100, "1")}}}]}""", "malformed JSON in request at line 1, byte" },
        { Infer, $$"""{"extra":{{Nested(100, "1")}},"inputs":[{{Input}}]}""", "byte 73: The maximum configured depth of 64 has been exceeded. Cannot read next JSON array." },
        { Infer, $$"""{"inputs":[{{Input}}]}<FF>""", "malformed JSON in request at line 1, byte" },
        { Infer, $$"""{"inputs":[{{Input}}],<FF>"x":1}""", "malformed JSON in request at line 1, byte" },
        { Index, $$"""{"ready":{{Nested(100, "true")}}}""", "malformed JSON in request at line 1, byte 73: The maximum configured depth of 64 has been exceeded." },
        { Index, """{"ready":true}<FF>""", "malformed JSON in request at line 1, byte" },
        { Load, """{"parameters":{"config":"x"}""", "malformed JSON in request at line 1, byte" },
        { Unload, $$"""{"x":{{Nested(65, "0")}}}""", "malformed JSON in request at line 1, byte" },
    };

    [Theory]
    [MemberData(nameof(UnreadableCases))]
    public async Task JsonBody_TheReaderCannotTake_Is400(string route, string body, string fragment)
    {
        var message = await AssertErrorAsync(await PostAsync(route, Bytes(body)), HttpStatusCode.BadRequest, fragment);

        // One position, 1-based: not the reader's own 0-based "LineNumber: 0 | BytePositionInLine: n" as well.
        Assert.DoesNotContain("LineNumber", message, StringComparison.Ordinal);

        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task InferHeader_CutInsideAMultiByteCharacter_Is400()
    {
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"INPUT0","shape":[1],"datatype":"INT8","data":[1]}],"id":"é"}""");
        var content = new ByteArrayContent(header);
        content.Headers.Add(InferResponseWriter.HeaderLengthHeader, (header.Length - 2).ToString(System.Globalization.CultureInfo.InvariantCulture));

        await AssertErrorAsync(await Http.PostAsync(Infer, content, Ct), HttpStatusCode.BadRequest, "malformed JSON in request at line 1, byte");
    }

    [Fact]
    public async Task BinaryTensorData_ThatIsNotUtf8_IsNotTakenForText()
    {
        var header = Encoding.UTF8.GetBytes("""{"id":"ünïcode","inputs":[{"name":"INPUT0","shape":[4],"datatype":"UINT8","parameters":{"binary_data_size":4}}]}""");
        byte[] data = [0xFF, 0xC0, 0xED, 0xA0];
        var content = new ByteArrayContent([.. header, .. data]);
        content.Headers.Add(InferResponseWriter.HeaderLengthHeader, header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var response = await Http.PostAsync(Infer, content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("ünïcode", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal("[255,192,237,160]", doc.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task ValidEscapesAndNonAsciiText_AreAccepted()
    {
        const string body = """
            {"id":"\ud83d\ude00 \u00e9 ü","parameters":{"t\u00e4g":"\u2603"},
             "inputs":[{"name":"INPUT0","shape":[2],"datatype":"BYTES","data":["\ud83d\ude00","日本"]}]}
            """;

        using var response = await PostAsync(Infer, Encoding.UTF8.GetBytes(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("😀 é ü", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal(["😀", "日本"], doc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("☃", fixture.Host.Server.LastRequest!.Parameters!["täg"]);
    }

    /// <summary>The UTF-8 bytes of <paramref name="json"/> with each <c>&lt;FF&gt;</c> replaced by the byte 0xFF.</summary>
    private static byte[] Bytes(string json)
    {
        var parts = json.Split("<FF>");
        var bytes = new List<byte>();
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                bytes.Add(0xFF);
            }
            bytes.AddRange(Encoding.UTF8.GetBytes(parts[i]));
        }
        return [.. bytes];
    }

    private static string Nested(int depth, string value) => new string('[', depth) + value + new string(']', depth);

    private Task<HttpResponseMessage> PostAsync(string route, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return Http.PostAsync(route, content, Ct);
    }

    private async Task AssertServerStillServesAsync()
    {
        using var response = await PostAsync(Infer, Encoding.UTF8.GetBytes($$"""{"inputs":[{{Input}}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Asserts the status and that the <c>{"error":...}</c> text contains <paramref name="fragment"/>; returns the text.</summary>
    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string fragment)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using var doc = JsonDocument.Parse(body);
            var message = doc.RootElement.GetProperty("error").GetString()!;
            Assert.Contains(fragment, message, StringComparison.Ordinal);
            return message;
        }
    }
}
