using System.Diagnostics.Metrics;
using Inference.Server.Core;
using Inference.Server.Scheduling;

namespace Inference.Server.Telemetry;

/// <summary>
/// Triton's per-model metrics as observable instruments over <see cref="IInferenceServer.GetStatistics"/>:
/// <see cref="ModelStatistics"/> stays the one source of truth and the request path pays nothing; the values
/// are read when a reader collects (a scrape, an OTLP export). Counters are cumulative since the version
/// loaded (a reload restarts them, which Prometheus treats as a counter reset). Durations are microseconds.
/// </summary>
public sealed class ModelStatisticsMetrics
{
    private static readonly (FailureReason Reason, string Label)[] Reasons =
    [
        (FailureReason.Rejected, "REJECTED"), (FailureReason.Canceled, "CANCELED"),
        (FailureReason.Backend, "BACKEND"), (FailureReason.Other, "OTHER"),
    ];

    private readonly IInferenceServer _server;

    public ModelStatisticsMetrics(IMeterFactory meterFactory, IInferenceServer server)
    {
        _server = server;
        var meter = meterFactory.Create(MetricNames.Meter);
        Counter(meter, MetricNames.RequestSuccess, s => s.Success.Count,
            "Number of successful inference requests, all batch sizes");
        meter.CreateObservableCounter(MetricNames.RequestFailure, ObserveFailures, unit: null,
            "Number of failed inference requests, all batch sizes, by reason (REJECTED, CANCELED, BACKEND, OTHER)");
        Counter(meter, MetricNames.InferenceCount, s => s.InferenceCount,
            "Number of inferences performed (a request of batch size 8 counts 8)");
        Counter(meter, MetricNames.ExecutionCount, s => s.ExecutionCount,
            "Number of model executions performed (batches run)");
        Counter(meter, MetricNames.RequestDurationUs, s => s.Success.TotalNs / 1000,
            "Cumulative duration of successful inference requests in microseconds, received to completed");
        Counter(meter, MetricNames.QueueDurationUs, s => s.Queue.TotalNs / 1000,
            "Cumulative time successful requests spent queued, in microseconds");
        Counter(meter, MetricNames.ComputeInputDurationUs, s => s.ComputeInput.TotalNs / 1000,
            "Cumulative compute input duration of successful requests in microseconds");
        Counter(meter, MetricNames.ComputeInferDurationUs, s => s.ComputeInfer.TotalNs / 1000,
            "Cumulative compute infer (model run) duration of successful requests in microseconds");
        Counter(meter, MetricNames.ComputeOutputDurationUs, s => s.ComputeOutput.TotalNs / 1000,
            "Cumulative compute output duration of successful requests in microseconds");
        meter.CreateObservableGauge(MetricNames.PendingRequestCount, ObservePending, unit: null,
            "Instantaneous number of requests queued or executing, per model version");
        meter.CreateObservableGauge(MetricNames.GpuFallbackInstances, () => Observe(s => s.GpuFallbackInstanceCount), unit: null,
            "Instances of KIND_AUTO groups placed on CPU because no GPU could be used, per model version");
    }

    private void Counter(Meter meter, string name, Func<ModelStatistics, long> read, string description) =>
        meter.CreateObservableCounter(name, () => Observe(read), unit: null, description);

    private IReadOnlyList<ModelStatisticsEntry> Entries() =>
        _server.GetStatistics() is { IsSuccess: true } r ? r.Value! : [];

    private IEnumerable<Measurement<long>> Observe(Func<ModelStatistics, long> read)
    {
        foreach (var e in Entries())
        {
            yield return new Measurement<long>(read(e.Statistics), Tags(e));
        }
    }

    private IEnumerable<Measurement<long>> ObserveFailures()
    {
        foreach (var e in Entries())
        {
            foreach (var (reason, label) in Reasons)
            {
                yield return new Measurement<long>(e.Statistics.FailureCount(reason),
                    new KeyValuePair<string, object?>(MetricNames.ModelLabel, e.Name),
                    new KeyValuePair<string, object?>(MetricNames.VersionLabel, e.Version),
                    new KeyValuePair<string, object?>(MetricNames.ReasonLabel, label));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObservePending()
    {
        foreach (var e in Entries())
        {
            yield return new Measurement<long>(e.PendingRequests, Tags(e));
        }
    }

    private static KeyValuePair<string, object?>[] Tags(ModelStatisticsEntry e) =>
    [
        new(MetricNames.ModelLabel, e.Name),
        new(MetricNames.VersionLabel, e.Version),
    ];
}
