using System.Text.Json;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace Inference.Tests.Repository;

public class ModelConfigJsonTests
{
    private static ModelConfig Resnet() => PbtxtParser.ParseModelConfig(SampleConfigs.Resnet, "c.pbtxt").Value!;

    [Fact]
    public void ToJson_UsesProtoNamesEnumNamesAndNumericDims()
    {
        using var doc = JsonDocument.Parse(ModelConfigJson.ToJson(Resnet()));
        var root = doc.RootElement;
        Assert.Equal(8, root.GetProperty("max_batch_size").GetInt32());
        var input = root.GetProperty("input")[0];
        Assert.Equal("TYPE_FP32", input.GetProperty("data_type").GetString());
        Assert.Equal(JsonValueKind.Number, input.GetProperty("dims")[0].ValueKind);
        Assert.Equal(224, input.GetProperty("dims")[2].GetInt64());
        var batching = root.GetProperty("dynamic_batching");
        Assert.Equal(JsonValueKind.Number, batching.GetProperty("max_queue_delay_microseconds").ValueKind);
        Assert.Equal(JsonValueKind.Number, batching.GetProperty("priority_queue_policy").GetProperty("1").GetProperty("default_timeout_microseconds").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("model_warmup")[0].GetProperty("inputs").GetProperty("input").GetProperty("dims")[0].ValueKind);
    }

    [Fact]
    public void ToJson_PrintsDefaultPrimitivesAsTritonDoes()
    {
        using var doc = JsonDocument.Parse(ModelConfigJson.ToJson(new ModelConfig { Name = "m" }));
        Assert.Equal(0, doc.RootElement.GetProperty("max_batch_size").GetInt32());
        Assert.Equal("", doc.RootElement.GetProperty("backend").GetString());
        Assert.False(doc.RootElement.TryGetProperty("dynamic_batching", out _));
    }

    [Fact]
    public void Json_RoundTripsARealisticConfig()
    {
        var original = Resnet();
        var back = ModelConfigJson.Parse(ModelConfigJson.ToJson(original));
        Assert.True(back.IsSuccess, back.Error?.Message);
        Assert.Equal(original, back.Value);
    }

    [Fact]
    public void Parse_AcceptsTritonsLoadOverride()
    {
        var r = ModelConfigJson.Parse("""
            {"name":"m","backend":"onnxruntime","max_batch_size":2,
             "input":[{"name":"x","data_type":"TYPE_INT64","dims":[-1,"4"]}],
             "version_policy":{"specific":{"versions":[2]}}}
            """);
        Assert.True(r.IsSuccess, r.Error?.Message);
        Assert.Equal([-1L, 4L], r.Value!.Input[0].Dims);
        Assert.Equal([2L], r.Value.VersionPolicy.Specific.Versions);
    }

    [Theory]
    [InlineData("{\"max_batch_sizee\": 1}")]
    [InlineData("{\"input\": [{\"data_type\": \"TYPE_FP33\"}]}")]
    [InlineData("{\"name\": ")]
    [InlineData("[]")]
    public void Parse_ReturnsErrorsAsValues(string json)
    {
        var r = ModelConfigJson.Parse(json);
        Assert.False(r.IsSuccess);
        Assert.StartsWith("invalid model config JSON: ", r.Error!.Message);
    }
}
