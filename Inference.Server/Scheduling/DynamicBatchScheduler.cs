using System.Diagnostics;
using Inference.Server.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Server.Scheduling;

/// <summary>
/// The scheduler of one model version, for every scheduling configuration: Triton's dynamic batcher when
/// <see cref="SchedulerOptions.DynamicBatching"/> is on and max_batch_size &gt; 0, otherwise one request per
/// execution in FIFO order. Priority levels apply only with dynamic batching; the queue policy
/// (<see cref="SchedulerOptions.DefaultQueuePolicy"/>) applies as given.
/// <para>Threads: one dedicated thread per instance forms the next batch (<see cref="BatchFormer"/>) when its
/// instance is free and runs it; instances are never called concurrently. A <see cref="TimeProvider"/> timer
/// wakes them for the batching delay and expires queue timeouts even while every instance is busy.</para>
/// <para>Locking: <c>_lock</c> guards the queue, each queued request's state, <c>_stopping</c> and the timer
/// bookkeeping; nothing blocking (execution, completion of results) happens under it.</para>
/// <para>Ownership: requests passed to <see cref="InferAsync"/> are disposed here once complete. The instances are
/// NOT owned: the caller disposes them after <see cref="StopAsync"/> (or <see cref="DisposeAsync"/>) has completed.</para>
/// </summary>
public sealed class DynamicBatchScheduler : IScheduler
{
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromHours(1);
    private static readonly TimeSpan IdleSpin = TimeSpan.FromMicroseconds(50);
    private static readonly long IdleSpinTicks = (long)(IdleSpin.TotalSeconds * Stopwatch.Frequency);

    private readonly string _modelName;
    private readonly SchedulerOptions _options;
    private readonly ModelStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly PriorityRequestQueue _queue;
    private readonly ResponseOrderer? _orderer;
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<QueuedRequest> _finish;
    private readonly Action<object?> _onCancelled;
    private readonly string _queueFullMessage;
    private readonly string _unloadingMessage;
    private readonly int _maxRequestsPerBatch;

    private readonly InstancePreparation _preparation;

    private int _liveThreads;
    private bool _disposed;
    private int _inflight;
    private int _queued;
    private bool _stopping;

    // Earliest end of a batching delay a dispatch thread waits for; long.MaxValue = none.
    private long _batchWakeAt = long.MaxValue;

    // When the timer is armed to fire; long.MaxValue = disarmed.
    private long _timerDueAt = long.MaxValue;

    /// <summary>Starts one dispatch thread per instance.</summary>
    /// <param name="modelName">Used in error messages, logs and thread names.</param>
    /// <param name="options">The model's scheduling configuration (validated by the model config loader).</param>
    /// <param name="instances">At least one; not owned (see the type's remarks).</param>
    /// <param name="statistics">Written for every execution and every completed request.</param>
    /// <param name="timeProvider">Source of timestamps (queue delay, timeouts, statistics) and of the wake-up timer.</param>
    /// <param name="logger">Start/stop and failures.</param>
    /// <param name="prepare">Run on each instance's thread after <see cref="IModelInstance.PrepareOnExecutingThread"/>
    /// and before the thread takes requests (the model's warmup); its error, or the first exception of either, is the
    /// result of <see cref="Prepared"/>.</param>
    public DynamicBatchScheduler(
        string modelName,
        SchedulerOptions options,
        IReadOnlyList<IModelInstance> instances,
        ModelStatistics statistics,
        TimeProvider timeProvider,
        ILogger? logger = null,
        Func<IModelInstance, InferenceError?>? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (instances.Count == 0)
        {
            throw new ArgumentException("A scheduler needs at least one model instance.", nameof(instances));
        }

        _modelName = modelName;
        _options = options;
        _statistics = statistics;
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        _queue = new PriorityRequestQueue(options, timeProvider.TimestampFrequency);
        _orderer = options.PreserveOrdering ? new ResponseOrderer() : null;
        _finish = Finish;
        _onCancelled = OnCancelled;
        _queueFullMessage = $"Exceeds maximum queue size for model '{modelName}'";
        _unloadingMessage = $"Model '{modelName}' is unloading";
        _maxRequestsPerBatch = options.DynamicBatching && options.MaxBatchSize > 0 ? options.MaxBatchSize : 1;

        // The callback only hops to the thread pool: a fake TimeProvider may run it inside Change(), where
        // the scheduler's lock is held.
        _timer = timeProvider.CreateTimer(
            static s => ThreadPool.UnsafeQueueUserWorkItem(static d => d.OnTimer(), (DynamicBatchScheduler)s!, preferLocal: false),
            this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        _preparation = new InstancePreparation(instances.Count, prepare);
        _liveThreads = instances.Count;
        foreach (var instance in instances)
        {
            var thread = new Thread(RunInstance)
            {
                IsBackground = true,
                Name = $"sched:{modelName}:{instance.Name}",
            };
            thread.Start(instance);
        }
    }

    /// <summary>
    /// Completes once every instance's thread has prepared its instance (<see cref="IModelInstance.PrepareOnExecutingThread"/>,
    /// then the constructor's <c>prepare</c>): null when all succeeded, else the first failure. Requests sent earlier
    /// wait in the queue.
    /// </summary>
    public Task<InferenceError?> Prepared => _preparation.Completed;

    /// <inheritdoc />
    public int InflightCount => Volatile.Read(ref _inflight);

    /// <inheritdoc />
    public int QueuedCount => Volatile.Read(ref _queued);

    /// <inheritdoc />
    /// <remarks>Rejects at once with <see cref="ErrorCode.Unavailable"/> when the request's priority level holds
    /// max_queue_size requests ("Exceeds maximum queue size") or the scheduler is stopping; completes with
    /// <see cref="ErrorCode.Timeout"/> when its queue timeout expires under action REJECT, with
    /// <see cref="ErrorCode.Cancelled"/> when its token fires while queued, and with <see cref="ErrorCode.Internal"/>
    /// when the instance throws.</remarks>
    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var node = new QueuedRequest(request, _time.GetTimestamp());
        Interlocked.Increment(ref _inflight);

        // Registered before the request is visible to the dispatch threads; if the token is already cancelled
        // the callback runs here and only marks the request.
        if (request.CancellationToken.CanBeCanceled)
        {
            node.Registration = request.CancellationToken.UnsafeRegister(_onCancelled, node);
        }

        InferenceError? rejection = null;
        var reason = FailureReason.Rejected;
        lock (_lock)
        {
            if (_stopping)
            {
                rejection = new InferenceError(ErrorCode.Unavailable, _unloadingMessage);
                reason = FailureReason.Other;
            }
            else if (node.CancelRequested)
            {
                rejection = Cancelled;
                reason = FailureReason.Canceled;
            }
            else if (!_queue.TryEnqueue(node))
            {
                rejection = new InferenceError(ErrorCode.Unavailable, _queueFullMessage);
            }
            else
            {
                _queued = _queue.Count;
                if (node.Deadline < _timerDueAt)
                {
                    ArmTimerLocked(node.EnqueueTimestamp);
                }
                Monitor.Pulse(_lock);
            }
            if (rejection is not null)
            {
                node.State = QueuedRequestState.Done;
            }
        }

        if (rejection is not null)
        {
            node.Result = InferenceResult.Failure(rejection);
            node.FailureReason = reason;
            Finish(node);
        }
        return new ValueTask<InferenceResult>(node.Task);
    }

    /// <inheritdoc />
    /// <remarks>While stopping, batches run without waiting for the batching delay. The returned task completes
    /// when every accepted request has completed and the dispatch threads have ended; cancelling
    /// <paramref name="cancellationToken"/> only stops waiting for that.</remarks>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_stopping)
            {
                _stopping = true;
                Monitor.PulseAll(_lock);
            }
        }
        return _stopped.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) and releases the timer. Does not dispose the instances.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        lock (_lock)
        {
            _disposed = true;
        }
        _timer.Dispose();
    }

    private static InferenceError Cancelled { get; } = new(ErrorCode.Cancelled, "Request was cancelled");

    private static InferenceError TimedOut { get; } = new(ErrorCode.Timeout, "Request timeout expired");

    private void RunInstance(object? state)
    {
        var instance = (IModelInstance)state!;
        var former = BatchFormer.FromOptions(_options, _time);
        var batch = new List<QueuedRequest>(_maxRequestsPerBatch);
        var expired = new List<QueuedRequest>();
        var executor = new BatchExecutor(this, instance);
        try
        {
            _preparation.Run(instance);
            former.UseExactBatchSizes(instance.ExactBatchSizes);
            while (true)
            {
                bool exit;
                lock (_lock)
                {
                    exit = TakeBatchLocked(former, batch, expired);
                }
                if (expired.Count > 0)
                {
                    FailAll(expired, TimedOut, FailureReason.Rejected);
                }
                if (batch.Count > 0)
                {
                    executor.Execute(batch);
                    batch.Clear();
                }
                else if (exit)
                {
                    break;
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _liveThreads) == 0)
            {
                SchedulerLog.Stopped(_logger, _modelName);
                _stopped.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Waits (under <c>_lock</c>, releasing it while waiting) until there is a batch to run, expired requests
    /// to fail, or nothing left to do while stopping (returns true).
    /// </summary>
    private bool TakeBatchLocked(BatchFormer former, List<QueuedRequest> batch, List<QueuedRequest> expired)
    {
        while (true)
        {
            var now = _time.GetTimestamp();
            if (_queue.NextDeadline() <= now)
            {
                _queue.SweepExpired(now, expired);
                _queued = _queue.Count;
                if (expired.Count > 0)
                {
                    return false;
                }
            }
            if (_queue.Count == 0)
            {
                if (_stopping)
                {
                    return true;
                }
                if (!SpinForWorkLocked())
                {
                    Monitor.Wait(_lock);
                }
                continue;
            }

            former.Reset();
            for (var node = _queue.First; node is not null && former.TryAdd(node.Rows, node.EnqueueTimestamp); node = _queue.NextOf(node))
            {
            }
            var decision = former.Decide(now, flush: _stopping);
            if (decision.IsRun)
            {
                for (var i = 0; i < decision.RequestCount; i++)
                {
                    var node = _queue.First!;
                    _queue.Remove(node);
                    node.State = QueuedRequestState.Dispatched;
                    node.BatchStartTimestamp = now;
                    batch.Add(node);
                    _orderer?.Add(node);
                }
                _queued = _queue.Count;
                if (_queue.Count > 0)
                {
                    // Another free instance may take the rest.
                    Monitor.Pulse(_lock);
                }
                return false;
            }

            if (decision.WaitUntil < _batchWakeAt)
            {
                _batchWakeAt = decision.WaitUntil;
            }
            ArmTimerLocked(now);
            Monitor.Wait(_lock);
        }
    }

    /// <summary>
    /// Before parking an idle instance thread, watches the queue for <see cref="IdleSpin"/> with the lock released:
    /// a request arriving meanwhile is taken without a thread wake-up (tens of microseconds, more on a machine
    /// whose idle cores sleep deeply), which is most of the queue time at low concurrency. Returns whether work
    /// (or a stop) arrived; the lock is held again either way.
    /// </summary>
    private bool SpinForWorkLocked()
    {
        Monitor.Exit(_lock);
        try
        {
            var deadline = Stopwatch.GetTimestamp() + IdleSpinTicks;
            var spinner = new SpinWait();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (Volatile.Read(ref _queued) > 0 || Volatile.Read(ref _stopping))
                {
                    return true;
                }
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Monitor.Enter(_lock);
        }
        // A request enqueued between the last look and re-entering the lock pulsed nobody: look again.
        return _queue.Count > 0 || _stopping;
    }

    private void OnTimer()
    {
        List<QueuedRequest>? expired = null;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _timerDueAt = long.MaxValue;
            if (_batchWakeAt <= now)
            {
                _batchWakeAt = long.MaxValue;
            }
            if (_queue.NextDeadline() <= now)
            {
                expired = [];
                _queue.SweepExpired(now, expired);
                _queued = _queue.Count;
            }
            ArmTimerLocked(now);
            Monitor.PulseAll(_lock);
        }
        if (expired is not null)
        {
            FailAll(expired, TimedOut, FailureReason.Rejected);
        }
    }

    /// <summary>Arms the timer for the earliest of the batching wake-up and the next queue deadline, unless it
    /// already fires at or before that.</summary>
    private void ArmTimerLocked(long now)
    {
        var due = Math.Min(_batchWakeAt, _queue.NextDeadline());
        if (due >= _timerDueAt || _disposed)
        {
            return;
        }
        _timerDueAt = due;
        var delay = _time.GetElapsedTime(now, due);
        if (delay <= TimeSpan.Zero)
        {
            delay = TimeSpan.FromTicks(1);
        }
        else if (delay > MaxTimerDue)
        {
            delay = MaxTimerDue;
        }
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void OnCancelled(object? state)
    {
        var node = (QueuedRequest)state!;
        lock (_lock)
        {
            switch (node.State)
            {
                case QueuedRequestState.New:
                    node.CancelRequested = true;
                    return;
                case QueuedRequestState.Queued:
                    _queue.Remove(node);
                    _queued = _queue.Count;
                    node.State = QueuedRequestState.Done;
                    break;
                default:
                    // Executing or already complete: it completes normally.
                    return;
            }
        }
        node.Result = InferenceResult.Failure(Cancelled);
        node.FailureReason = FailureReason.Canceled;
        Finish(node);
    }

    private void FailAll(List<QueuedRequest> nodes, InferenceError error, FailureReason reason)
    {
        foreach (var node in nodes)
        {
            node.Result = InferenceResult.Failure(error);
            node.FailureReason = reason;
            Finish(node);
        }
        nodes.Clear();
    }

    /// <summary>Completes a request exactly once: records statistics, disposes the request, sets the result.
    /// Called only by the party that moved it out of the queue (or the response orderer on its behalf).</summary>
    private void Finish(QueuedRequest node)
    {
        node.Registration.Unregister();
        var now = _time.GetTimestamp();
        var request = node.Request;
        var received = request.ReceivedTimestamp != 0 ? request.ReceivedTimestamp : node.EnqueueTimestamp;
        var requestNs = ElapsedNs(received, now);
        request.Trace?.RecordScheduled(node.EnqueueTimestamp, now);
        if (node.FailureReason is { } reason)
        {
            _statistics.RecordFailure(requestNs, reason);
        }
        else
        {
            _statistics.RecordSuccess(requestNs, ElapsedNs(node.EnqueueTimestamp, node.BatchStartTimestamp), node.Timings);
            if (node.Result.Response is { } response)
            {
                response.Timings = node.Timings;
            }
        }

        try
        {
            request.Dispose();
        }
        catch (Exception ex)
        {
            SchedulerLog.RequestDisposeFailed(_logger, _modelName, request.Id, ex);
        }

        var result = node.Result;
        node.Result = default;
        Interlocked.Decrement(ref _inflight);
        node.TrySetResult(result);
    }

    private long ElapsedNs(long start, long end) => end <= start ? 0 : _time.GetElapsedTime(start, end).Ticks * 100;

    /// <summary>Runs batches on one instance; owned by that instance's thread, reusing its buffers.</summary>
    private sealed class BatchExecutor(DynamicBatchScheduler scheduler, IModelInstance instance)
    {
        private readonly List<InferenceRequest> _requests = new(scheduler._maxRequestsPerBatch);
        private readonly InferenceResponse[]?[] _responseArrays = new InferenceResponse[]?[scheduler._maxRequestsPerBatch + 1];

        public void Execute(List<QueuedRequest> batch)
        {
            var count = batch.Count;
            var rows = 0;
            var traced = false;
            _requests.Clear();
            foreach (var node in batch)
            {
                _requests.Add(node.Request);
                rows += node.Rows;
                traced |= node.Request.Trace is not null;
            }
            var responses = count < _responseArrays.Length
                ? _responseArrays[count] ??= new InferenceResponse[count]
                : new InferenceResponse[count];

            var timings = default(ExecutionTimings);
            Exception? failure = null;
            var computeStart = traced ? scheduler._time.GetTimestamp() : 0;
            try
            {
                instance.Execute(_requests, responses, ref timings);
            }
            catch (Exception ex)
            {
                failure = ex;
                SchedulerLog.ExecutionFailed(scheduler._logger, scheduler._modelName, instance.Name, count, ex);
            }
            _requests.Clear();
            if (traced)
            {
                RecordCompute(batch, computeStart, scheduler._time.GetTimestamp(), timings);
            }

            if (failure is null)
            {
                scheduler._statistics.RecordExecution(rows, timings, scheduler._time.GetUtcNow().ToUnixTimeMilliseconds());
            }

            for (var i = 0; i < count; i++)
            {
                var node = batch[i];
                var response = responses[i];
                responses[i] = null!;
                if (failure is not null)
                {
                    response?.Dispose();
                    node.Result = InferenceResult.Failure(ErrorCode.Internal, failure.Message);
                    node.FailureReason = FailureReason.Backend;
                }
                else if (response is null)
                {
                    node.Result = InferenceResult.Failure(ErrorCode.Internal,
                        $"Instance '{instance.Name}' of model '{scheduler._modelName}' returned no response for request '{node.Request.Id}'");
                    node.FailureReason = FailureReason.Backend;
                }
                else
                {
                    node.Result = InferenceResult.Success(response);
                    node.Timings = timings;
                }
            }

            if (scheduler._orderer is { } orderer)
            {
                orderer.Complete(batch, scheduler._finish);
            }
            else
            {
                foreach (var node in batch)
                {
                    scheduler.Finish(node);
                }
            }
        }

        /// <summary>The traced requests' COMPUTE_* timestamps: start and end around the run, the input phase's end and
        /// the output phase's start from the instance's own durations.</summary>
        private void RecordCompute(List<QueuedRequest> batch, long start, long end, in ExecutionTimings timings)
        {
            var frequency = scheduler._time.TimestampFrequency;
            long Ticks(long ns) => (long)((Int128)ns * frequency / 1_000_000_000);
            var inputEnd = Math.Min(start + Ticks(timings.ComputeInputNs), end);
            var outputStart = Math.Max(end - Ticks(timings.ComputeOutputNs), inputEnd);
            foreach (var node in batch)
            {
                node.Request.Trace?.RecordCompute(start, inputEnd, outputStart, end);
            }
        }
    }
}
