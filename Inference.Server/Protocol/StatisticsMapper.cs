using Inference.Server.Core;
using Inference.Server.Scheduling;
using ProtoStats = Inference.Server.Protos.ModelStatistics;
using Inference.Server.Protos;

namespace Inference.Server.Protocol;

/// <summary>Converts the server's statistics to Triton's ModelStatistics message (the gRPC reply and, through
/// <see cref="TritonProtoJsonWriter"/>, the HTTP statistics JSON).</summary>
public static class StatisticsMapper
{
    public static ModelStatisticsResponse ToProto(IReadOnlyList<ModelStatisticsEntry> entries)
    {
        var response = new ModelStatisticsResponse();
        foreach (var e in entries)
        {
            response.ModelStats.Add(ToProto(e));
        }
        return response;
    }

    public static ProtoStats ToProto(ModelStatisticsEntry entry)
    {
        var s = entry.Statistics;
        var proto = new ProtoStats
        {
            Name = entry.Name,
            Version = entry.Version,
            LastInference = (ulong)Math.Max(0, s.LastInferenceMs),
            InferenceCount = (ulong)s.InferenceCount,
            ExecutionCount = (ulong)s.ExecutionCount,
            InferenceStats = new InferStatistics
            {
                Success = Duration(s.Success),
                Fail = Duration(s.Fail),
                Queue = Duration(s.Queue),
                ComputeInput = Duration(s.ComputeInput),
                ComputeInfer = Duration(s.ComputeInfer),
                ComputeOutput = Duration(s.ComputeOutput),
                CacheHit = Duration(s.CacheHit),
                CacheMiss = Duration(s.CacheMiss),
            },
        };
        foreach (var b in s.Batches)
        {
            proto.BatchStats.Add(new InferBatchStatistics
            {
                BatchSize = (ulong)b.BatchSize,
                ComputeInput = Duration(b.ComputeInput),
                ComputeInfer = Duration(b.ComputeInfer),
                ComputeOutput = Duration(b.ComputeOutput),
            });
        }
        return proto;
    }

    private static StatisticDuration Duration(DurationStatistic d) => new() { Count = (ulong)d.Count, Ns = (ulong)d.TotalNs };
}
