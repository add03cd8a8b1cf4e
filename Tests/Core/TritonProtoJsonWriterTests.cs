using System.Text.Json;
using TritonProtoJsonWriter = Inference.Server.Core.TritonProtoJsonWriter;
using Inference.Server.Protos;

namespace Inference.Tests.Core;

public class TritonProtoJsonWriterTests
{
    [Fact]
    public void Write_ModelConfig_UsesProtoNamesEnumNamesAndNumericInt64()
    {
        var config = new ModelConfig { Name = "m", MaxBatchSize = 8, DynamicBatching = new ModelDynamicBatching { MaxQueueDelayMicroseconds = 100 } };
        config.Input.Add(new ModelInput { Name = "INPUT0", DataType = DataType.TypeFp32, Dims = { -1, 16 } });

        using var doc = JsonDocument.Parse(Write(config));
        var root = doc.RootElement;

        Assert.Equal(8, root.GetProperty("max_batch_size").GetInt32());
        var input = root.GetProperty("input")[0];
        Assert.Equal("TYPE_FP32", input.GetProperty("data_type").GetString());
        Assert.Equal("[-1,16]", input.GetProperty("dims").GetRawText());
        Assert.Equal(JsonValueKind.Number, root.GetProperty("dynamic_batching").GetProperty("max_queue_delay_microseconds").ValueKind);
        // Defaults are printed, as Triton does; unset sub-messages are not.
        Assert.Equal("", root.GetProperty("platform").GetString());
        Assert.Equal("[]", root.GetProperty("output").GetRawText());
        Assert.Equal("{}", root.GetProperty("parameters").GetRawText());
        Assert.False(root.TryGetProperty("sequence_batching", out _));
    }

    [Fact]
    public void Write_Statistics_MatchesTritonsStatisticsJsonShape()
    {
        var stats = new ModelStatisticsResponse();
        stats.ModelStats.Add(new Inference.Server.Protos.ModelStatistics
        {
            Name = "m",
            Version = "1",
            InferenceCount = ulong.MaxValue,
            InferenceStats = new InferStatistics { Success = new StatisticDuration { Count = 2, Ns = 300 } },
            BatchStats = { new InferBatchStatistics { BatchSize = 4, ComputeInfer = new StatisticDuration { Count = 1, Ns = 9 } } },
        });

        using var doc = JsonDocument.Parse(Write(stats));
        var m = doc.RootElement.GetProperty("model_stats")[0];

        Assert.Equal(ulong.MaxValue, m.GetProperty("inference_count").GetUInt64());
        Assert.Equal(300, m.GetProperty("inference_stats").GetProperty("success").GetProperty("ns").GetInt64());
        Assert.Equal(4, m.GetProperty("batch_stats")[0].GetProperty("batch_size").GetInt32());
        Assert.Equal(9, m.GetProperty("batch_stats")[0].GetProperty("compute_infer").GetProperty("ns").GetInt32());
    }

    private static byte[] Write(Google.Protobuf.IMessage message)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            TritonProtoJsonWriter.Write(writer, message);
        }
        return stream.ToArray();
    }
}
