using Google.Protobuf;
using Inference.Server.Protos;
using Inference.Server.Repository;
using ConfigDataType = Inference.Server.Protos.DataType;

namespace Inference.Tests.Repository;

public class PbtxtWriterTests
{
    private static ModelConfig Parse(string text)
    {
        var r = PbtxtParser.ParseModelConfig(text, "config.pbtxt");
        Assert.True(r.IsSuccess, r.Error?.Message);
        return r.Value!;
    }

    [Fact]
    public void RealisticConfig_RoundTripsThroughTextFormat()
    {
        var original = Parse(SampleConfigs.Resnet);
        var text = PbtxtWriter.Write(original);
        Assert.Equal(original, Parse(text));
    }

    [Fact]
    public void Write_UsesTritonStyle()
    {
        var c = new ModelConfig { Name = "m", MaxBatchSize = 4, VersionPolicy = new ModelVersionPolicy { All = new() } };
        c.Input.Add(new ModelInput { Name = "x", DataType = ConfigDataType.TypeFp32, Dims = { 3, -1 } });
        c.Parameters["k"] = new ModelParameter { StringValue = "v" };
        Assert.Equal("""
            name: "m"
            version_policy {
              all { }
            }
            max_batch_size: 4
            input {
              name: "x"
              data_type: TYPE_FP32
              dims: [ 3, -1 ]
            }
            parameters {
              key: "k"
              value {
                string_value: "v"
              }
            }

            """.ReplaceLineEndings("\n"), PbtxtWriter.Write(c));
    }

    [Fact]
    public void Write_OmitsDefaultsButKeepsSetOneofMembersWithDefaultValues()
    {
        var warmup = new ModelWarmup { Name = "w" };
        warmup.Inputs["x"] = new ModelWarmup.Types.Input { ZeroData = false };
        var c = new ModelConfig { ModelWarmup = { warmup } };
        var text = PbtxtWriter.Write(c);
        Assert.Contains("zero_data: false", text);
        Assert.DoesNotContain("batch_size", text);
        var back = Parse(text);
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.ZeroData, back.ModelWarmup[0].Inputs["x"].InputDataTypeCase);
    }

    [Fact]
    public void Strings_WithQuotesControlCharsAndUnicode_RoundTrip()
    {
        var c = new ModelConfig { Name = "a\"b'c\\d\n\t\u0001é漢" };
        Assert.Equal(c, Parse(PbtxtWriter.Write(c)));
    }

    [Fact]
    public void SpecialFloats_RoundTrip()
    {
        var c = new ModelConfig();
        var control = new ModelMetrics.Types.MetricControl { HistogramOptions = new() { Buckets = { 0.1, double.PositiveInfinity, double.NegativeInfinity, 1e-300, -2.5 } } };
        c.ModelMetrics = new ModelMetrics { MetricControl = { control } };
        c.SequenceBatching = new ModelSequenceBatching { Direct = new() { MinimumSlotUtilization = 0.3f } };
        Assert.Equal(c, Parse(PbtxtWriter.Write(c)));
    }

    [Fact]
    public void BytesFields_RoundTripArbitraryBytes()
    {
        var original = new Google.Protobuf.WellKnownTypes.BytesValue { Value = ByteString.CopyFrom(0, 255, (byte)'"', 10, 200) };
        var text = PbtxtWriter.Write(original);
        var r = PbtxtParser.Parse<Google.Protobuf.WellKnownTypes.BytesValue>(text, "b.pbtxt");
        Assert.True(r.IsSuccess, r.Error?.Message);
        Assert.Equal(original, r.Value);
    }
}
