using System.Buffers.Binary;
using System.Text;
using Inference.Server.Core;
using Inference.Server.Protocol;
using Inference.Server.Protocol.Http;

namespace Inference.Tests.Protocol;

public class HttpInferRequestParserTests
{
    [Fact]
    public void Parse_JsonRequest_MapsFieldsAndParameters()
    {
        const string json = """
            {"id":"r1","parameters":{"priority":2,"timeout":5000,"custom":"x","binary_data_output":true},
             "inputs":[{"name":"INPUT0","shape":[2,2],"datatype":"INT32","data":[[1,2],[3,4]]}],
             "outputs":[{"name":"OUTPUT0","parameters":{"classification":3}}]}
            """;

        using var parsed = Parse(Encoding.UTF8.GetBytes(json));

        var r = parsed.Request;
        Assert.Equal("r1", r.Id);
        Assert.Equal(2u, r.Priority);
        Assert.Equal(5000ul, r.TimeoutMicroseconds);
        Assert.Equal("x", r.Parameters!["custom"]);
        Assert.False(r.Parameters.ContainsKey("priority"));
        Assert.True(parsed.AllOutputsBinary);
        Assert.Equal(new RequestedOutput("OUTPUT0", 3), Assert.Single(r.Outputs));
        var input = Assert.Single(r.Inputs);
        Assert.Equal(DataType.Int32, input.DataType);
        Assert.Equal([2L, 2L], input.Shape);
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(input.Data.Span[12..]));
    }

    [Fact]
    public void Parse_BinaryExtension_SlicesInputsInOrderAfterTheHeader()
    {
        const string header = """
            {"inputs":[{"name":"A","shape":[2],"datatype":"FP16","parameters":{"binary_data_size":4}},
                       {"name":"B","shape":[1],"datatype":"INT32","data":[7]},
                       {"name":"C","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":7}}],
             "outputs":[{"name":"X","parameters":{"binary_data":true}},{"name":"Y"}]}
            """;
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[] { 1, 2, 3, 4, 3, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c' }).ToArray();

        using var parsed = Parse(body, Encoding.UTF8.GetByteCount(header));

        var inputs = parsed.Request.Inputs;
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, inputs[0].Data.ToArray());
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(inputs[1].Data.Span));
        Assert.Equal("abc", Encoding.UTF8.GetString(inputs[2].Data.Span[4..]));
        Assert.True(parsed.IsBinaryOutput("X"));
        Assert.False(parsed.IsBinaryOutput("Y"));
    }

    [Fact]
    public void Parse_BinaryInputs_ShareTheBodyUntilEveryTensorIsDisposed()
    {
        const string header = """{"inputs":[{"name":"A","shape":[1],"datatype":"UINT8","parameters":{"binary_data_size":1}}]}""";
        var bytes = Encoding.UTF8.GetBytes(header).Append((byte)42).ToArray();
        var pooled = PooledBuffer.Rent(bytes.Length);
        bytes.CopyTo(pooled.Span);
        var body = new SharedBuffer(pooled);
        var parsed = HttpInferRequestParser.Parse(body, bytes.Length - 1, "m", -1, TestContext.Current.CancellationToken, 0);

        body.Dispose();
        Assert.Equal(42, parsed.Value!.Request.Inputs[0].Data.Span[0]);
        parsed.Value.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pooled.Memory);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"A","shape":[1],"datatype":"FP32","data":[1]}""", "malformed JSON in request at line 1")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"id":"x"}""", "has no 'inputs'")]
    [InlineData("""{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}""", "inputs[0] is missing 'name'")]
    [InlineData("""{"inputs":[{"name":"A","datatype":"FP32","data":[1]}]}""", "input 'A' is missing 'shape'")]
    [InlineData("""{"inputs":[{"name":"A","shape":[1],"data":[1]}]}""", "input 'A' is missing 'datatype'")]
    [InlineData("""{"inputs":[{"name":"A","shape":[1],"datatype":"FLOAT","data":[1]}]}""", "unknown datatype 'FLOAT'")]
    [InlineData("""{"inputs":[{"name":"A","shape":[1],"datatype":"FP32"}]}""", "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But no field is set (input 'A')")]
    [InlineData("""{"inputs":[{"name":"A","shape":[2],"datatype":"FP32","data":[1]}]}""", "data has 1 elements but its shape needs 2")]
    [InlineData("""{"inputs":[{"name":"A","shape":[-1],"datatype":"FP32","data":[1]}]}""", "negative dimension")]
    [InlineData("""{"inputs":[{"name":"A","shape":["1"],"datatype":"FP32","data":[1]}]}""", "must be an array of integers")]
    [InlineData("""{"inputs":[],"parameters":{"priority":-1}}""", "'priority' must be a non-negative integer")]
    [InlineData("""{"inputs":[],"outputs":[{"parameters":{"binary_data":true}}]}""", "outputs[0] is missing 'name'")]
    [InlineData("""{"inputs":[],"outputs":[{"name":"X","parameters":{"binary_data":1}}]}""", "binary_data' must be a boolean")]
    [InlineData("""{"inputs":[{"name":"A","shape":[1],"datatype":"FP32","data":[1]}]} x""", "malformed JSON")]
    public void Parse_MalformedJsonHeader_ReturnsClearInvalidArgument(string json, string message)
    {
        var error = ParseError(Encoding.UTF8.GetBytes(json));

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Parse_BinaryDataSizeBeyondBody_IsRejected()
    {
        const string header = """{"inputs":[{"name":"A","shape":[4],"datatype":"UINT8","parameters":{"binary_data_size":4}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[3]).ToArray();

        var error = ParseError(body, Encoding.UTF8.GetByteCount(header));

        Assert.Contains("binary_data_size 4 exceeds the 3 bytes", error.Message);
    }

    [Fact]
    public void Parse_BinaryBytesLeftOver_IsRejected()
    {
        const string header = """{"inputs":[{"name":"A","shape":[1],"datatype":"UINT8","parameters":{"binary_data_size":1}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[3]).ToArray();

        var error = ParseError(body, Encoding.UTF8.GetByteCount(header));

        Assert.Contains("2 bytes of binary data beyond", error.Message);
    }

    [Fact]
    public void Parse_BinarySizeNotMatchingShape_IsRejected()
    {
        const string header = """{"inputs":[{"name":"A","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":4}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[4]).ToArray();

        var error = ParseError(body, Encoding.UTF8.GetByteCount(header));

        Assert.Contains("4 bytes of data do not match 2 elements of FP32 (8 bytes)", error.Message);
    }

    [Fact]
    public void Parse_SharedMemoryInputWithoutByteSize_IsInvalid()
    {
        var error = ParseError("""{"inputs":[{"name":"A","shape":[1],"datatype":"FP32","parameters":{"shared_memory_region":"r"}}]}"""u8.ToArray());

        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'A'", error.Message);
    }

    [Fact]
    public void Parse_SharedMemoryInput_WithoutAManager_IsUnsupported()
    {
        var error = ParseError(
            """{"inputs":[{"name":"A","shape":[1],"datatype":"FP32","parameters":{"shared_memory_region":"r","shared_memory_byte_size":4}}]}"""u8.ToArray());

        Assert.Equal(ErrorCode.Unsupported, error.Code);
    }

    [Fact]
    public void Parse_SharedMemoryOffsetWithoutRegion_IsInvalid()
    {
        var error = ParseError("""{"inputs":[{"name":"A","shape":[1],"datatype":"FP32","data":[1],"parameters":{"shared_memory_offset":4}}]}"""u8.ToArray());

        Assert.Equal("'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor 'A'", error.Message);
    }

    private static HttpInferRequest Parse(byte[] body, int? headerLength = null)
    {
        var result = ParseResult(body, headerLength);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    private static InferenceError ParseError(byte[] body, int? headerLength = null)
    {
        var result = ParseResult(body, headerLength);
        Assert.False(result.IsSuccess);
        return result.Error!;
    }

    private static Result<HttpInferRequest> ParseResult(byte[] body, int? headerLength)
    {
        var pooled = PooledBuffer.Rent(body.Length);
        body.CopyTo(pooled.Span);
        using var shared = new SharedBuffer(pooled);
        return HttpInferRequestParser.Parse(shared, headerLength ?? body.Length, "m", -1, TestContext.Current.CancellationToken, 0);
    }
}
