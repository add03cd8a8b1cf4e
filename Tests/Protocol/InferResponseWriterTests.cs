using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.Protocol.Http;
using Microsoft.AspNetCore.Http;

namespace Inference.Tests.Protocol;

public class InferResponseWriterTests
{
    [Fact]
    public async Task WriteAsync_AllJson_WritesTritonResponseJson()
    {
        using var response = Response(Int32Tensor("OUT", 1, 2, 3));
        var http = NewContext();

        await InferResponseWriter.WriteAsync(http.Response, response, _ => false, TestContext.Current.CancellationToken);

        Assert.Equal(200, http.Response.StatusCode);
        Assert.Equal("application/json", http.Response.ContentType);
        Assert.False(http.Response.Headers.ContainsKey(InferResponseWriter.HeaderLengthHeader));
        using var doc = JsonDocument.Parse(Body(http));
        Assert.Equal("req", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal("m", doc.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("3", doc.RootElement.GetProperty("model_version").GetString());
        var output = doc.RootElement.GetProperty("outputs")[0];
        Assert.Equal("INT32", output.GetProperty("datatype").GetString());
        Assert.Equal("[3]", output.GetProperty("shape").GetRawText());
        Assert.Equal("[1,2,3]", output.GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task WriteAsync_LargeJsonOutput_IsWrittenCompletely()
    {
        var values = Enumerable.Range(0, 100_000).ToArray();
        using var response = Response(Int32Tensor("OUT", values));
        var http = NewContext();

        await InferResponseWriter.WriteAsync(http.Response, response, _ => false, TestContext.Current.CancellationToken);

        using var doc = JsonDocument.Parse(Body(http));
        var data = doc.RootElement.GetProperty("outputs")[0].GetProperty("data");
        Assert.Equal(values.Length, data.GetArrayLength());
        Assert.Equal(99_999, data[99_999].GetInt32());
    }

    [Fact]
    public async Task WriteAsync_MixedBinary_PutsHeaderLengthThenRawBytesInOutputOrder()
    {
        using var response = Response(Int32Tensor("A", 7), Int32Tensor("B", 8, 9), Int32Tensor("C", 10));
        var http = NewContext();

        await InferResponseWriter.WriteAsync(http.Response, response, n => n != "B", TestContext.Current.CancellationToken);

        Assert.Equal("application/octet-stream", http.Response.ContentType);
        var headerLength = int.Parse(http.Response.Headers[InferResponseWriter.HeaderLengthHeader]!);
        var body = Body(http);
        Assert.Equal(body.Length, http.Response.ContentLength);
        using var doc = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var outputs = doc.RootElement.GetProperty("outputs");
        Assert.Equal(4, outputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(outputs[0].TryGetProperty("data", out _));
        Assert.Equal("[8,9]", outputs[1].GetProperty("data").GetRawText());
        Assert.Equal(8, body.Length - headerLength);
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(headerLength)));
        Assert.Equal(10, BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(headerLength + 4)));
    }

    [Fact]
    public async Task WriteAsync_Fp16AsJson_FailsWithTritonsMessageBeforeWritingData()
    {
        using var response = Response(new InferTensor("H", DataType.Fp16, [1], new byte[2]));
        var http = NewContext();

        await InferResponseWriter.WriteAsync(http.Response, response, _ => false, TestContext.Current.CancellationToken);

        Assert.Equal(400, http.Response.StatusCode);
        using var doc = JsonDocument.Parse(Body(http));
        Assert.Contains("FP16 data via JSON is not supported", doc.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task WriteAsync_Fp16AsBinary_IsFine()
    {
        using var response = Response(new InferTensor("H", DataType.Fp16, [1], new byte[] { 0x00, 0x3C }));
        var http = NewContext();

        await InferResponseWriter.WriteAsync(http.Response, response, _ => true, TestContext.Current.CancellationToken);

        Assert.Equal(200, http.Response.StatusCode);
        Assert.Equal(new byte[] { 0x00, 0x3C }, Body(http)[^2..]);
    }

    private static InferenceResponse Response(params InferTensor[] outputs)
    {
        var r = new InferenceResponse { ModelName = "m", ModelVersion = 3, Id = "req" };
        r.Outputs.AddRange(outputs);
        return r;
    }

    private static InferTensor Int32Tensor(string name, params int[] values)
    {
        var buffer = PooledBuffer.Rent(values.Length * 4);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.Span[(i * 4)..], values[i]);
        }
        return new InferTensor(name, DataType.Int32, [values.Length], buffer.Memory, buffer);
    }

    private static DefaultHttpContext NewContext() => new() { Response = { Body = new MemoryStream() } };

    private static byte[] Body(DefaultHttpContext http) => ((MemoryStream)http.Response.Body).ToArray();
}
