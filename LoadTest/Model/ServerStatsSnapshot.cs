using ProtoStats = Inference.Server.Protos.ModelStatistics;

namespace LoadTest.Model;

/// <summary>Cumulative server-side counters of one model (all versions summed) from the statistics extension.
/// Durations in nanoseconds, as Triton reports them.</summary>
public sealed record ServerStatsSnapshot(long InferenceCount, long ExecutionCount, long SuccessCount, long SuccessNs,
    long QueueNs, long ComputeInputNs, long ComputeInferNs, long ComputeOutputNs, long FailCount)
{
    public static ServerStatsSnapshot Sum(IEnumerable<ProtoStats> stats)
    {
        var s = new ServerStatsSnapshot(0, 0, 0, 0, 0, 0, 0, 0, 0);
        foreach (var m in stats)
        {
            var i = m.InferenceStats;
            s = new ServerStatsSnapshot(
                s.InferenceCount + (long)m.InferenceCount, s.ExecutionCount + (long)m.ExecutionCount,
                s.SuccessCount + (long)(i?.Success?.Count ?? 0), s.SuccessNs + (long)(i?.Success?.Ns ?? 0),
                s.QueueNs + (long)(i?.Queue?.Ns ?? 0), s.ComputeInputNs + (long)(i?.ComputeInput?.Ns ?? 0),
                s.ComputeInferNs + (long)(i?.ComputeInfer?.Ns ?? 0), s.ComputeOutputNs + (long)(i?.ComputeOutput?.Ns ?? 0),
                s.FailCount + (long)(i?.Fail?.Count ?? 0));
        }
        return s;
    }
}
