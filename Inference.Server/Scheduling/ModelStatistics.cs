using System.Collections.Concurrent;

namespace Inference.Server.Scheduling;

/// <summary>A count and a total duration, updated lock-free (Triton's StatisticDuration).</summary>
public sealed class DurationStatistic
{
    private long _count;
    private long _totalNs;

    public long Count => Volatile.Read(ref _count);

    public long TotalNs => Volatile.Read(ref _totalNs);

    public void Add(long ns, long count = 1)
    {
        Interlocked.Add(ref _count, count);
        Interlocked.Add(ref _totalNs, ns);
    }
}

/// <summary>Why a request failed, as the nv_inference_request_failure metric labels it.</summary>
public enum FailureReason
{
    Rejected,
    Canceled,
    Backend,
    Other,
}

/// <summary>Per-batch-size durations (Triton's InferBatchStatistics).</summary>
public sealed class BatchStatistics(int batchSize)
{
    public int BatchSize { get; } = batchSize;

    public DurationStatistic ComputeInput { get; } = new();

    public DurationStatistic ComputeInfer { get; } = new();

    public DurationStatistic ComputeOutput { get; } = new();
}

/// <summary>
/// Sees each completed execution and request as <see cref="ModelStatistics"/> records it, for consumers that need
/// the individual values (latency and batch-size histograms) rather than the cumulative totals. Called on the
/// scheduler's threads, concurrently, on the request path: implementations must be thread-safe, must not
/// block and must not throw.
/// </summary>
public interface IModelStatisticsObserver
{
    /// <summary>One model execution over <paramref name="batchSize"/> rows (durations in nanoseconds).</summary>
    void OnExecution(int batchSize, in ExecutionTimings timings);

    /// <summary>One successful request: end to end and queued durations in nanoseconds, and its execution's timings.</summary>
    void OnSuccess(long requestNs, long queueNs, in ExecutionTimings timings);
}

/// <summary>Creates the observer of one model version's statistics (null for none). Called when a version loads.</summary>
public interface IModelStatisticsObserverFactory
{
    IModelStatisticsObserver? Create(string model, long version);
}

/// <summary>
/// Triton's statistics for one model version: the one place the scheduler writes and both the
/// statistics extension and the metrics read. All members are thread-safe. An optional
/// <see cref="IModelStatisticsObserver"/> is told of each execution and success after the totals are updated.
/// </summary>
public sealed class ModelStatistics(IModelStatisticsObserver? observer = null)
{
    private readonly ConcurrentDictionary<int, BatchStatistics> _batches = new();
    private readonly long[] _failuresByReason = new long[4];
    private long _inferenceCount;
    private long _executionCount;
    private long _lastInferenceMs;
    private long _paddedRows;
    private long _gpuFallbackInstances;

    /// <summary>Requests that completed successfully; duration is request end to end (received to completed).</summary>
    public DurationStatistic Success { get; } = new();

    /// <summary>Requests that failed; duration is received to failed.</summary>
    public DurationStatistic Fail { get; } = new();

    /// <summary>Time successful requests spent queued.</summary>
    public DurationStatistic Queue { get; } = new();

    /// <summary>Per request: its share of gathering inputs.</summary>
    public DurationStatistic ComputeInput { get; } = new();

    /// <summary>Per request: the model run it took part in.</summary>
    public DurationStatistic ComputeInfer { get; } = new();

    /// <summary>Per request: splitting outputs back.</summary>
    public DurationStatistic ComputeOutput { get; } = new();

    /// <summary>Requests answered from the response cache; duration is the lookup that found them.</summary>
    public DurationStatistic CacheHit { get; } = new();

    /// <summary>Requests the response cache did not have; duration is the lookup plus the insertion of the result.</summary>
    public DurationStatistic CacheMiss { get; } = new();

    /// <summary>This version's requests go through the response cache (the model enables it and the server has one).</summary>
    public bool ResponseCacheEnabled { get; init; }

    /// <summary>Inferences performed: a request of batch size 8 counts 8.</summary>
    public long InferenceCount => Volatile.Read(ref _inferenceCount);

    /// <summary>Model executions (batches run).</summary>
    public long ExecutionCount => Volatile.Read(ref _executionCount);

    /// <summary>Unix time in ms of the last completed inference; 0 if none.</summary>
    public long LastInferenceMs => Volatile.Read(ref _lastInferenceMs);

    /// <summary>Rows executed only to pad batches up to a captured CUDA graph size (not counted in <see cref="InferenceCount"/>).</summary>
    public long PaddedRowCount => Volatile.Read(ref _paddedRows);

    /// <summary>Instances of this version placed on the CPU because their KIND_AUTO group found no usable GPU.</summary>
    public long GpuFallbackInstanceCount => Volatile.Read(ref _gpuFallbackInstances);

    public void RecordGpuFallback(int instances) => Interlocked.Add(ref _gpuFallbackInstances, instances);

    public long FailureCount(FailureReason reason) => Volatile.Read(ref _failuresByReason[(int)reason]);

    /// <summary>Batch statistics ordered by batch size.</summary>
    public IReadOnlyList<BatchStatistics> Batches => [.. _batches.Values.OrderBy(b => b.BatchSize)];

    /// <summary>Records one model execution over <paramref name="batchSize"/> rows.</summary>
    public void RecordExecution(int batchSize, in ExecutionTimings timings, long unixTimeMs)
    {
        Interlocked.Increment(ref _executionCount);
        Interlocked.Add(ref _inferenceCount, batchSize);
        if (timings.PaddedRows > 0)
        {
            Interlocked.Add(ref _paddedRows, timings.PaddedRows);
        }
        Volatile.Write(ref _lastInferenceMs, unixTimeMs);
        var b = _batches.GetOrAdd(batchSize, static s => new BatchStatistics(s));
        b.ComputeInput.Add(timings.ComputeInputNs);
        b.ComputeInfer.Add(timings.ComputeInferNs);
        b.ComputeOutput.Add(timings.ComputeOutputNs);
        observer?.OnExecution(batchSize, timings);
    }

    /// <summary>Records one successful request with its queue time and the timings of the execution it ran in.</summary>
    public void RecordSuccess(long requestNs, long queueNs, in ExecutionTimings timings)
    {
        Success.Add(requestNs);
        Queue.Add(queueNs);
        ComputeInput.Add(timings.ComputeInputNs);
        ComputeInfer.Add(timings.ComputeInferNs);
        ComputeOutput.Add(timings.ComputeOutputNs);
        observer?.OnSuccess(requestNs, queueNs, timings);
    }

    /// <summary>Records a request answered from the response cache, as Triton does: a success whose queue time is 0 and
    /// whose compute times are not recorded (nor counted in <see cref="InferenceCount"/> or <see cref="ExecutionCount"/>).</summary>
    public void RecordCacheHit(long requestNs, long lookupNs)
    {
        Success.Add(requestNs);
        Queue.Add(0);
        CacheHit.Add(lookupNs);
    }

    /// <summary>Records a cache miss whose request was executed (its success already recorded): the lookup and
    /// insertion time, which Triton also adds to the request duration.</summary>
    public void RecordCacheMiss(long lookupAndInsertNs)
    {
        CacheMiss.Add(lookupAndInsertNs);
        Success.Add(lookupAndInsertNs, count: 0);
    }

    public void RecordFailure(long requestNs, FailureReason reason)
    {
        Fail.Add(requestNs);
        Interlocked.Increment(ref _failuresByReason[(int)reason]);
    }
}
