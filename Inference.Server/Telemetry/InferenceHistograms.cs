using System.Diagnostics.Metrics;
using System.Globalization;
using Inference.Server.Scheduling;

namespace Inference.Server.Telemetry;

/// <summary>
/// Latency and batch-size histograms (beyond Triton's cumulative counters): recorded as the scheduler completes
/// work, through an <see cref="IModelStatisticsObserver"/> per model version, so their buckets aggregate across
/// replicas with <c>sum by (le)</c> and give quantiles with <c>histogram_quantile</c>. Recording costs one
/// histogram update per instrument (a bucket search and interlocked adds in the OpenTelemetry SDK) and nothing
/// when no reader listens. Thread-safe.
/// </summary>
/// <remarks>
/// Latency buckets (seconds): 1-2.5-5 steps from 100 µs to 10 s. The fastest requests here (tiny models on
/// CPU, queue time of an idle server) take tens of microseconds and fall in the first bucket; ResNet-50 batches on
/// CPU take tens to hundreds of milliseconds; anything beyond 10 s is a timeout in practice. Adjacent bounds differ
/// by at most 2.5x, which bounds the interpolation error of <c>histogram_quantile</c> while keeping 17 series per
/// label set. Batch-size buckets are powers of two up to 1024: dynamic batching's preferred sizes and
/// <c>max_batch_size</c> are usually powers of two, and the exact mean comes from <c>_sum / _count</c>.
/// </remarks>
public sealed class InferenceHistograms : IModelStatisticsObserverFactory
{
    /// <summary>Upper bounds of the latency buckets, in seconds.</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Upper bounds of the batch-size buckets, in rows.</summary>
    public static readonly IReadOnlyList<long> BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private readonly Histogram<double> _request;
    private readonly Histogram<double> _queue;
    private readonly Histogram<double> _computeInfer;
    private readonly Histogram<long> _batchSize;

    public InferenceHistograms(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MetricNames.Meter);
        var latency = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets };
        _request = meter.CreateHistogram(MetricNames.RequestDurationSeconds, "s",
            "Duration of successful inference requests, received to completed", tags: null, latency);
        _queue = meter.CreateHistogram(MetricNames.QueueDurationSeconds, "s",
            "Time successful inference requests spent queued", tags: null, latency);
        _computeInfer = meter.CreateHistogram(MetricNames.ComputeInferDurationSeconds, "s",
            "Duration of one model execution (compute infer), one sample per batch run", tags: null, latency);
        _batchSize = meter.CreateHistogram(MetricNames.ExecutionBatchSize, unit: null,
            "Rows per model execution (the batch the dynamic batcher formed)", tags: null,
            new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchSizeBuckets });
    }

    public IModelStatisticsObserver Create(string model, long version) => new Observer(this, model, version);

    private sealed class Observer(InferenceHistograms h, string model, long version) : IModelStatisticsObserver
    {
        private readonly KeyValuePair<string, object?> _model = new(MetricNames.ModelLabel, model);
        private readonly KeyValuePair<string, object?> _version = new(MetricNames.VersionLabel, version.ToString(CultureInfo.InvariantCulture));

        public void OnExecution(int batchSize, in ExecutionTimings timings)
        {
            h._computeInfer.Record(timings.ComputeInferNs / 1e9, _model, _version);
            h._batchSize.Record(batchSize, _model, _version);
        }

        public void OnSuccess(long requestNs, long queueNs, in ExecutionTimings timings)
        {
            h._request.Record(requestNs / 1e9, _model, _version);
            h._queue.Record(queueNs / 1e9, _model, _version);
        }
    }
}
