using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Inference.Server.Core;
using Inference.Server.Protocol.Http;

namespace Inference.Tests.Protocol;

public class JsonTensorCodecTests
{
    [Theory]
    [InlineData(DataType.Bool, "[true,false]", "0100")]
    [InlineData(DataType.UInt8, "[0,255]", "00FF")]
    [InlineData(DataType.Int8, "[-128,127]", "807F")]
    [InlineData(DataType.UInt16, "[1,65535]", "0100FFFF")]
    [InlineData(DataType.Int16, "[-2,3]", "FEFF0300")]
    [InlineData(DataType.UInt32, "[4294967295]", "FFFFFFFF")]
    [InlineData(DataType.Int32, "[-1,2]", "FFFFFFFF02000000")]
    [InlineData(DataType.UInt64, "[18446744073709551615]", "FFFFFFFFFFFFFFFF")]
    [InlineData(DataType.Int64, "[-9223372036854775808]", "0000000000000080")]
    [InlineData(DataType.Fp32, "[1.5,-2]", "0000C03F000000C0")]
    [InlineData(DataType.Fp64, "[0.5]", "000000000000E03F")]
    public void Decode_EveryFixedSizeType_WritesLittleEndianElements(DataType type, string json, string expectedHex)
    {
        var expected = Convert.FromHexString(expectedHex);
        var count = expected.Length / type.ElementSize();

        using var buffer = Decode(json, type, count);

        Assert.Equal(expected, buffer.Span.ToArray());
    }

    [Fact]
    public void Decode_NestedArrays_MatchFlatRowMajorOrder()
    {
        using var flat = Decode("[1,2,3,4,5,6]", DataType.Int32, 6);
        using var nested = Decode("[[1,2,3],[4,5,6]]", DataType.Int32, 6);

        Assert.Equal(flat.Span.ToArray(), nested.Span.ToArray());
        Assert.Equal(6, BinaryPrimitives.ReadInt32LittleEndian(nested.Span[20..]));
    }

    [Fact]
    public void Decode_Bytes_WritesLengthPrefixedUtf8WithEscapesResolved()
    {
        using var buffer = Decode("""[["a\"b", "ü"], [""]]""", DataType.Bytes, 3);

        var expected = new byte[] { 3, 0, 0, 0, (byte)'a', (byte)'"', (byte)'b', 2, 0, 0, 0, 0xC3, 0xBC, 0, 0, 0, 0 };
        Assert.Equal(expected, buffer.Span.ToArray());
    }

    [Theory]
    [InlineData(DataType.Int32, "[1,2,3]", 4, "data has 3 elements but its shape needs 4")]
    [InlineData(DataType.Int32, "[1,2,3]", 2, "data has 3 elements but its shape needs 2")]
    [InlineData(DataType.UInt8, "[300]", 1, "is not a valid UINT8 value")]
    [InlineData(DataType.Int32, "[1.5]", 1, "is not a valid INT32 value")]
    [InlineData(DataType.Int32, "[\"1\"]", 1, "is not a valid INT32 value")]
    [InlineData(DataType.Fp64, "[1e400]", 1, "data element 0 (number 1e400) is not a valid FP64 value")]
    [InlineData(DataType.Fp32, "[-1e39]", 1, "data element 0 (number -1e39) is not a valid FP32 value")]
    [InlineData(DataType.Bool, "[1]", 1, "is not a valid BOOL value")]
    [InlineData(DataType.Bytes, "[1]", 1, "is not a valid BYTES value")]
    [InlineData(DataType.Bytes, "[\"a\"]", 2, "data has 1 elements but its shape needs 2")]
    [InlineData(DataType.Bytes, "[\"ok\",\"\\ud800\"]", 2, "data element 1 is not text (a \\u escape of an unpaired surrogate)")]
    [InlineData(DataType.Fp32, "[{\"x\":1}]", 1, "is not a valid FP32 value")]
    [InlineData(DataType.Fp16, "[1]", 1, "FP16 data via JSON is not supported")]
    [InlineData(DataType.Bf16, "[1]", 1, "BF16 data via JSON is not supported")]
    public void Decode_BadData_ReturnsInvalidArgumentNamingTheInput(DataType type, string json, long count, string message)
    {
        var result = JsonTensorCodec.Decode(Encoding.UTF8.GetBytes(json), "IN", type, count);

        Assert.False(result.IsSuccess);
        Assert.Equal(ErrorCode.InvalidArgument, result.Error!.Code);
        Assert.Contains(message, result.Error.Message);
        Assert.Contains("IN", result.Error.Message);
    }

    [Fact]
    public void Decode_HugeShapeWithTinyData_FailsWithoutAllocating()
    {
        var result = JsonTensorCodec.Decode("[1]"u8, "IN", DataType.Fp64, 1L << 40);

        Assert.Contains("data has 1 elements", result.Error!.Message);
    }

    [Theory]
    [InlineData(DataType.Bool, "[true,false]")]
    [InlineData(DataType.Int8, "[-128,127]")]
    [InlineData(DataType.UInt64, "[18446744073709551615]")]
    [InlineData(DataType.Int64, "[-9223372036854775808,1]")]
    [InlineData(DataType.Fp32, "[1.5,-2,0.1]")]
    [InlineData(DataType.Fp64, "[0.1,1E+300]")]
    [InlineData(DataType.Bytes, "[\"a\\\"b\",\"\u00FC\",\"\"]")]
    public void WriteElements_RoundTripsDecodedData(DataType type, string json)
    {
        var count = JsonDocument.Parse(json).RootElement.GetArrayLength();
        using var buffer = Decode(json, type, count);
        var tensor = new InferTensor("T", type, [count], buffer.Memory);
        Assert.Null(JsonTensorCodec.CheckEncodable(tensor));

        var written = WriteArray(type, buffer.Memory.Span);

        Assert.Equal(JsonDocument.Parse(json).RootElement.ToString(), JsonDocument.Parse(written).RootElement.ToString());
    }

    [Fact]
    public void WriteElements_StopsAtPendingLimitAndResumes()
    {
        using var buffer = Decode("[1,2,3,4,5,6,7,8]", DataType.Int32, 8);
        using var stream = new MemoryStream();
        using var writer = new Utf8JsonWriter(stream);
        writer.WriteStartArray();
        var offset = 0;
        var calls = 0;
        while (offset < buffer.Length)
        {
            offset = JsonTensorCodec.WriteElements(writer, DataType.Int32, buffer.Span, offset, pendingLimit: 4);
            writer.Flush();
            calls++;
        }
        writer.WriteEndArray();
        writer.Flush();

        Assert.True(calls > 1);
        Assert.Equal("[1,2,3,4,5,6,7,8]", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Theory]
    [InlineData(DataType.Fp16)]
    [InlineData(DataType.Bf16)]
    public void CheckEncodable_HalfPrecision_IsBinaryOnly(DataType type)
    {
        var tensor = new InferTensor("OUT", type, [1], new byte[2]);

        var error = JsonTensorCodec.CheckEncodable(tensor);

        Assert.Equal(ErrorCode.InvalidArgument, error!.Code);
        Assert.Contains("binary data format for output 'OUT'", error.Message);
    }

    [Fact]
    public void CheckEncodable_NaN_IsRejected()
    {
        var data = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), float.NaN);

        var error = JsonTensorCodec.CheckEncodable(new InferTensor("OUT", DataType.Fp32, [2], data));

        Assert.Contains("NaN", error!.Message);
    }

    [Fact]
    public void CheckEncodable_BytesWithBrokenFraming_IsInternal()
    {
        var error = JsonTensorCodec.CheckEncodable(new InferTensor("OUT", DataType.Bytes, [1], new byte[] { 9, 0, 0, 0, 1 }));

        Assert.Equal(ErrorCode.Internal, error!.Code);
    }

    private static PooledBuffer Decode(string json, DataType type, long count)
    {
        var result = JsonTensorCodec.Decode(Encoding.UTF8.GetBytes(json), "IN", type, count);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    private static string WriteArray(DataType type, ReadOnlySpan<byte> data)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, HttpJson.WriterOptions))
        {
            writer.WriteStartArray();
            var offset = JsonTensorCodec.WriteElements(writer, type, data, 0, int.MaxValue);
            Assert.Equal(data.Length, offset);
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
