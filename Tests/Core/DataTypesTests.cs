using Inference.Server.Core;

namespace Inference.Tests.Core;

public class DataTypesTests
{
    [Theory]
    [InlineData("FP32", DataType.Fp32, 4)]
    [InlineData("FP16", DataType.Fp16, 2)]
    [InlineData("INT64", DataType.Int64, 8)]
    [InlineData("BOOL", DataType.Bool, 1)]
    [InlineData("BYTES", DataType.Bytes, 0)]
    public void WireNames_RoundTrip_WithElementSizes(string wire, DataType type, int size)
    {
        Assert.True(DataTypes.TryParseWireName(wire, out var parsed));
        Assert.Equal(type, parsed);
        Assert.Equal(wire, type.ToWireName());
        Assert.Equal(size, type.ElementSize());
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("FLOAT")]
    [InlineData("INVALID")]
    [InlineData(null)]
    public void TryParseWireName_RejectsUnknownNames(string? wire) => Assert.False(DataTypes.TryParseWireName(wire, out _));

    [Fact]
    public void ConfigNames_UseTritonSpelling()
    {
        Assert.Equal("TYPE_FP32", DataType.Fp32.ToConfigName());
        Assert.Equal("TYPE_STRING", DataType.Bytes.ToConfigName());
    }
}
