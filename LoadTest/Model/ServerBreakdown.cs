namespace LoadTest.Model;

/// <summary>
/// perf_analyzer's server-side columns for one measurement: the difference of two <see cref="ServerStatsSnapshot"/>s.
/// Times are microseconds per successful request (Triton counts compute per request, not per batch);
/// <see cref="AverageBatchSize"/> is inferences per model execution.
/// </summary>
public sealed record ServerBreakdown(long Requests, long Inferences, long Executions, double RequestUs, double QueueUs,
    double ComputeInputUs, double ComputeInferUs, double ComputeOutputUs, double AverageBatchSize)
{
    /// <summary>The breakdown of what happened between <paramref name="before"/> and <paramref name="after"/>;
    /// null when the server completed no request in between.</summary>
    public static ServerBreakdown? Between(ServerStatsSnapshot before, ServerStatsSnapshot after)
    {
        var requests = after.SuccessCount - before.SuccessCount;
        if (requests <= 0)
        {
            return null;
        }
        double PerRequest(long a, long b) => (a - b) / 1000.0 / requests;
        var executions = after.ExecutionCount - before.ExecutionCount;
        var inferences = after.InferenceCount - before.InferenceCount;
        return new ServerBreakdown(requests, inferences, executions,
            PerRequest(after.SuccessNs, before.SuccessNs), PerRequest(after.QueueNs, before.QueueNs),
            PerRequest(after.ComputeInputNs, before.ComputeInputNs), PerRequest(after.ComputeInferNs, before.ComputeInferNs),
            PerRequest(after.ComputeOutputNs, before.ComputeOutputNs),
            executions > 0 ? (double)inferences / executions : 0);
    }
}
