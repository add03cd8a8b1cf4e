using System.Text;
using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.Protocol.Http;

namespace Inference.Tests.Protocol;

public class JsonTextCheckTests
{
    /// <summary>(JSON with <c>&lt;FF&gt;</c> standing for the byte 0xFF, the whole error message).</summary>
    public static TheoryData<string, string> InvalidCases => new()
    {
        { """{"id":"<FF>"}""", "invalid UTF-8 in 'id'" },
        { """{"id":"\ud800"}""", @"invalid UTF-8 in 'id': a \u escape of an unpaired surrogate" },
        { """{"id":"\n<FF>"}""", "invalid UTF-8 in 'id'" },
        { """{"inputs":[{"name":"A"},{"name":"B<FF>"}]}""", "invalid UTF-8 in 'inputs[1].name'" },
        { """{"inputs":[{"data":[[1,2],[3,"\udc00"]]}]}""", @"invalid UTF-8 in 'inputs[0].data[1][1]': a \u escape of an unpaired surrogate" },
        { """{"parameters":{"a":{"b":[true,null,"<FF>"]}}}""", "invalid UTF-8 in 'parameters.a.b[2]'" },
        { """{"parameters":{"<FF>":1}}""", "invalid UTF-8 in a key of 'parameters'" },
        { """{"<FF>":1}""", "invalid UTF-8 in a key of the request" },
        { """{"\ud83d\u0041":1}""", @"invalid UTF-8 in a key of the request: a \u escape of an unpaired surrogate" },
        { """["<FF>"]""", "invalid UTF-8 in '[0]'" },
        { "\"<FF>\"", "invalid UTF-8 in the request" },
        { """{"id":"<FF>","x":}""", "invalid UTF-8 in 'id'" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Check_StringThatIsNotText_IsInvalidArgumentNamingItsPath(string json, string message)
    {
        var error = JsonTextCheck.Check(Bytes(json), 64);

        Assert.NotNull(error);
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("""{"id":"plain ascii","n":[1,2.5,true,null]}""")]
    [InlineData("""{"id":"ünïcödé 日本 😀"}""")]
    [InlineData("""{"id":"\ud83d\ude00 \u00e9 \uFFFF \u0000"}""")]
    [InlineData("""{"path":"C:\\uD800\\dir"}""")]
    [InlineData("""{"id":"\\\ud83d\ude00"}""")]
    [InlineData("")]
    public void Check_ValidText_IsNull(string json) => Assert.Null(JsonTextCheck.Check(Bytes(json), 64));

    [Theory]
    [InlineData("""{"x":,"id":"<FF>"}""")]
    [InlineData("""{"id":1}<FF>""")]
    [InlineData("""{<FF>:1}""")]
    [InlineData("""{"id":"\ud800 unterminated""")]
    public void Check_SyntaxErrorBeforeAnyBadString_IsLeftToTheParser(string json) => Assert.Null(JsonTextCheck.Check(Bytes(json), 64));

    [Fact]
    public void Check_NestingPastTheDepthBeforeTheBadString_IsLeftToTheParser()
    {
        var json = new string('[', 10) + "\"<FF>\"" + new string(']', 10);

        Assert.Null(JsonTextCheck.Check(Bytes(json), 5));
        Assert.Equal("invalid UTF-8 in '[0][0][0][0][0][0][0][0][0][0]'", JsonTextCheck.Check(Bytes(json), 64)?.Message);
    }

    [Fact]
    public void Malformed_HasOneBasedPositionAndTheReasonWithoutTheReadersOwnPositions()
    {
        var json = Encoding.UTF8.GetBytes("{\"a\":\n" + new string('[', 100));
        var e = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(json).Dispose());

        var error = JsonRequestErrors.Malformed(e);

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("malformed JSON in request at line 2, byte 64: The maximum configured depth of 64 has been exceeded. Cannot read next JSON array.", error.Message);
    }

    [Fact]
    public void Malformed_WithoutAPosition_SaysNoPosition()
    {
        var error = JsonRequestErrors.Malformed(new JsonException("Something odd. Path: $.x | LineNumber: 3 | BytePositionInLine: 9."));

        Assert.Equal("malformed JSON in request: Something odd.", error.Message);
    }

    /// <summary>The UTF-8 bytes of <paramref name="json"/> with each <c>&lt;FF&gt;</c> replaced by the byte 0xFF.</summary>
    private static byte[] Bytes(string json) =>
        json.Split("<FF>").Select(Encoding.UTF8.GetBytes).Aggregate((a, b) => [.. a, 0xFF, .. b]);
}
