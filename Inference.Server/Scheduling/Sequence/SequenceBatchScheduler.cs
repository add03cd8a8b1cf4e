using Inference.Server.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>
/// Triton's sequence batcher for one model version. Every request names its sequence (<c>sequence_id</c>) and
/// may start or end it (<c>sequence_start</c>, <c>sequence_end</c>). A starting sequence takes a free slot of an
/// instance (<see cref="SequenceSettings.SlotsPerInstance"/>), or waits in the backlog until one frees; it keeps
/// the slot until its END request ran or it is idle for max_sequence_idle_microseconds. A sequence's requests run
/// one at a time in arrival order, each fed the control inputs (START, END, READY, CORRID) and the implicit
/// state the config names.
/// <para>Batches: one dedicated thread per instance. Direct: a batch holds the next request of each ready slot,
/// waiting up to max_queue_delay_microseconds while fewer than minimum_slot_utilization of the slots are ready.
/// Oldest: a batch holds the oldest next requests of distinct sequences, up to max_batch_size, and runs at once
/// at a preferred batch size or max_batch_size, otherwise after max_queue_delay_microseconds.</para>
/// <para>Ownership as <see cref="DynamicBatchScheduler"/>: requests are disposed here, instances are not.</para>
/// </summary>
public sealed class SequenceBatchScheduler : IScheduler
{
    private readonly string _modelName;
    private readonly SequenceSettings _settings;
    private readonly IReadOnlyList<IModelInstance> _instances;
    private readonly ModelStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly InstancePreparation _preparation;
    private readonly object _lock = new();
    private readonly LiveSequence?[][] _slots;
    private readonly Dictionary<SequenceId, LiveSequence> _byId = [];
    private readonly Queue<LiveSequence> _backlog = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _idleTicks;
    private readonly long _delayTicks;
    private readonly string _unloadingMessage;
    private readonly Action<object?> _onCancelled;

    private const string CancelledMessage = "Request was cancelled";

    private int _liveThreads;
    private int _inflight;
    private int _queued;
    private bool _stopping;

    /// <summary>Starts one thread per instance; parameters as <see cref="DynamicBatchScheduler"/>'s.</summary>
    public SequenceBatchScheduler(
        string modelName,
        SequenceSettings settings,
        IReadOnlyList<IModelInstance> instances,
        ModelStatistics statistics,
        TimeProvider timeProvider,
        ILogger? logger = null,
        Func<IModelInstance, InferenceError?>? prepare = null)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(instances);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (instances.Count == 0)
        {
            throw new ArgumentException("A scheduler needs at least one model instance.", nameof(instances));
        }
        _modelName = modelName;
        _settings = settings;
        _instances = instances;
        _statistics = statistics;
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        _preparation = new InstancePreparation(instances.Count, prepare);
        _idleTicks = MicrosecondsToTicks(settings.MaxSequenceIdleMicroseconds);
        _delayTicks = MicrosecondsToTicks(settings.MaxQueueDelayMicroseconds);
        _unloadingMessage = $"Model '{modelName}' is unloading";
        _onCancelled = OnCancelled;
        _slots = [.. instances.Select(_ => new LiveSequence?[settings.SlotsPerInstance])];
        _liveThreads = instances.Count;
        for (var i = 0; i < instances.Count; i++)
        {
            var thread = new Thread(RunInstance) { IsBackground = true, Name = $"seq:{modelName}:{instances[i].Name}" };
            thread.Start(i);
        }
    }

    /// <summary>As <see cref="DynamicBatchScheduler.Prepared"/>.</summary>
    public Task<InferenceError?> Prepared => _preparation.Completed;

    /// <inheritdoc />
    public int InflightCount => Volatile.Read(ref _inflight);

    /// <inheritdoc />
    public int QueuedCount => Volatile.Read(ref _queued);

    /// <inheritdoc />
    /// <remarks>Fails at once, with Triton's messages, a request without a sequence id, with batch size &gt; 1, a
    /// non-START request of a sequence that is not live (never started, ended, or released as idle), and a string id
    /// to a model whose CORRID control is numeric. Rejects with <see cref="ErrorCode.Unavailable"/> while stopping.</remarks>
    public ValueTask<InferenceResult> InferAsync(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _inflight);
        var flags = SequenceRequestFlags.Read(request);
        if (!flags.IsSuccess)
        {
            return Reject(request, flags.Error!);
        }
        var f = flags.Value;
        if (request.BatchSize > 1 && _settings.MaxBatchSize > 0)
        {
            return Reject(request, new InferenceError(ErrorCode.InvalidArgument,
                $"inference request to model '{_modelName}' must specify batch-size 1 due to requirements of sequence batcher"));
        }
        if (!f.Id.InSequence)
        {
            return Reject(request, new InferenceError(ErrorCode.InvalidArgument,
                $"inference request to model '{_modelName}' must specify a non-zero or non-empty correlation ID"));
        }
        if (f.Id.IsString && _settings.CorrelationId is { } corrid)
        {
            return Reject(request, new InferenceError(ErrorCode.InvalidArgument,
                $"sequence batching control '{corrid.InputName}' data-type is 'BYTES', but model '{_modelName}' expects '{corrid.DataType.ToWireName()}'"));
        }

        var now = _time.GetTimestamp();
        var node = new SequenceRequest(request, f, now);
        if (request.CancellationToken.CanBeCanceled)
        {
            // Before the request is visible to the instance threads; a token that already fired only marks it.
            node.Registration = request.CancellationToken.UnsafeRegister(_onCancelled, node);
        }
        InferenceError? rejection = null;
        var reason = FailureReason.Rejected;
        lock (_lock)
        {
            rejection = AdmitLocked(node, now, ref reason);
        }
        if (rejection is not null)
        {
            node.Result = InferenceResult.Failure(rejection);
            node.FailureReason = reason;
            Finish(node);
        }
        return new ValueTask<InferenceResult>(node.Task);
    }

    /// <summary>Queues <paramref name="node"/> on its sequence (starting one when it has START), or returns why not.</summary>
    private InferenceError? AdmitLocked(SequenceRequest node, long now, ref FailureReason reason)
    {
        var f = node.Flags;
        var request = node.Request;
        if (_stopping)
        {
            reason = FailureReason.Other;
            return new InferenceError(ErrorCode.Unavailable, _unloadingMessage);
        }
        if (node.Dispatched)
        {
            reason = FailureReason.Canceled;
            return new InferenceError(ErrorCode.Cancelled, CancelledMessage);
        }
        if (!_byId.TryGetValue(f.Id, out var sequence))
        {
            if (!f.Start)
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"inference request for sequence {f.Id} to model '{_modelName}' must specify the START flag on the first request of the sequence");
            }
            sequence = new LiveSequence(f.Id, _settings);
            _byId[f.Id] = sequence;
            if (!TryAssignSlotLocked(sequence))
            {
                _backlog.Enqueue(sequence);
            }
        }
        else if (f.Start)
        {
            SequenceLog.RestartedBeforeEnd(_logger, f.Id.ToString(), _modelName);
        }
        node.Sequence = sequence;
        sequence.Pending.Enqueue(node);
        if (sequence.Instance < 0 && request.TimeoutMicroseconds > 0)
        {
            sequence.BacklogDeadline = Math.Min(sequence.BacklogDeadline, now + MicrosecondsToTicks(request.TimeoutMicroseconds));
        }
        sequence.LastRequestTimestamp = now;
        if (f.End)
        {
            sequence.Ended = true;
            _byId.Remove(f.Id);
        }
        _queued++;
        Monitor.PulseAll(_lock);
        return null;
    }

    /// <inheritdoc />
    /// <remarks>Stopping rejects every new request, gives the slots of idle sequences back at once, runs what is queued,
    /// then ends the instance threads.</remarks>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        return _stopped.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops (see <see cref="StopAsync"/>). Does not dispose the instances.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>A queued request whose client went away leaves its sequence's queue and fails as cancelled; the
    /// sequence goes on without it (an executing request completes normally).</summary>
    private void OnCancelled(object? state)
    {
        var node = (SequenceRequest)state!;
        lock (_lock)
        {
            if (node.Dispatched)
            {
                return;
            }
            node.Dispatched = true;
            if (node.Sequence is null)
            {
                // Not queued yet: InferAsync rejects it as cancelled.
                return;
            }
            var pending = node.Sequence.Pending;
            for (var i = pending.Count; i > 0; i--)
            {
                var queued = pending.Dequeue();
                if (!ReferenceEquals(queued, node))
                {
                    pending.Enqueue(queued);
                }
            }
            _queued--;
            Monitor.PulseAll(_lock);
        }
        node.Result = InferenceResult.Failure(ErrorCode.Cancelled, CancelledMessage);
        node.FailureReason = FailureReason.Canceled;
        Finish(node);
    }

    private ValueTask<InferenceResult> Reject(InferenceRequest request, InferenceError error, FailureReason reason = FailureReason.Rejected)
    {
        var node = new SequenceRequest(request, default, _time.GetTimestamp())
        {
            Result = InferenceResult.Failure(error),
            FailureReason = reason,
        };
        Finish(node);
        return new ValueTask<InferenceResult>(node.Task);
    }

    private bool TryAssignSlotLocked(LiveSequence sequence)
    {
        // The instance with the most free slots, so that sequences spread over the instances.
        int best = -1, bestSlot = -1, bestFree = 0;
        for (var i = 0; i < _slots.Length; i++)
        {
            int free = 0, first = -1;
            for (var s = 0; s < _slots[i].Length; s++)
            {
                if (_slots[i][s] is null)
                {
                    free++;
                    first = first < 0 ? s : first;
                }
            }
            if (free > bestFree)
            {
                (best, bestSlot, bestFree) = (i, first, free);
            }
        }
        if (best < 0)
        {
            return false;
        }
        _slots[best][bestSlot] = sequence;
        sequence.Instance = best;
        sequence.Slot = bestSlot;
        return true;
    }

    private void ReleaseSlotLocked(LiveSequence sequence)
    {
        _slots[sequence.Instance][sequence.Slot] = null;
        if (_byId.TryGetValue(sequence.Id, out var mapped) && ReferenceEquals(mapped, sequence))
        {
            _byId.Remove(sequence.Id);
        }
        if (_backlog.TryDequeue(out var next))
        {
            _slots[sequence.Instance][sequence.Slot] = next;
            next.Instance = sequence.Instance;
            next.Slot = sequence.Slot;
        }
        sequence.Instance = sequence.Slot = -1;
        Monitor.PulseAll(_lock);
    }

    /// <summary>Takes out of the backlog, with all their requests, the sequences whose timeout (the earliest deadline of
    /// a request's <c>timeout</c> parameter while it waited there) has passed, as Triton's reaper; returns the next such
    /// deadline.</summary>
    private long ExpireBacklogLocked(long now, List<SequenceRequest> expired)
    {
        var next = long.MaxValue;
        if (_backlog.Count == 0)
        {
            return next;
        }
        for (var i = _backlog.Count; i > 0; i--)
        {
            var sequence = _backlog.Dequeue();
            if (sequence.BacklogDeadline > now)
            {
                next = Math.Min(next, sequence.BacklogDeadline);
                _backlog.Enqueue(sequence);
                continue;
            }
            if (_byId.TryGetValue(sequence.Id, out var mapped) && ReferenceEquals(mapped, sequence))
            {
                _byId.Remove(sequence.Id);
            }
            while (sequence.Pending.TryDequeue(out var node))
            {
                node.Dispatched = true;
                _queued--;
                expired.Add(node);
            }
        }
        return next;
    }

    /// <summary>Gives back the slots of sequences without queued or running requests that have been idle too long
    /// (all of them while stopping); returns the timestamp of the next such expiry.</summary>
    private long ReapIdleLocked(long now)
    {
        var next = long.MaxValue;
        foreach (var slots in _slots)
        {
            foreach (var sequence in slots)
            {
                if (sequence is null || sequence.Executing || sequence.Pending.Count > 0)
                {
                    continue;
                }
                var expiry = sequence.Ended ? now : sequence.LastRequestTimestamp + _idleTicks;
                if (_stopping || expiry <= now)
                {
                    if (!sequence.Ended)
                    {
                        SequenceLog.IdleReleased(_logger, sequence.Id.ToString(), _modelName);
                    }
                    ReleaseSlotLocked(sequence);
                }
                else
                {
                    next = Math.Min(next, expiry);
                }
            }
        }
        return next;
    }

    private void RunInstance(object? state)
    {
        var index = (int)state!;
        var instance = _instances[index];
        var batch = new List<SequenceRequest>(_settings.MaxRequestsPerBatch);
        var ready = new List<LiveSequence>(_settings.SlotsPerInstance);
        var requests = new List<InferenceRequest>(_settings.MaxRequestsPerBatch);
        var responseArrays = new InferenceResponse[]?[_settings.MaxRequestsPerBatch + 1];
        var expired = new List<SequenceRequest>();
        try
        {
            _preparation.Run(instance);
            while (true)
            {
                lock (_lock)
                {
                    if (!TakeBatchLocked(index, ready, batch, expired))
                    {
                        return;
                    }
                }
                if (expired.Count > 0)
                {
                    foreach (var node in expired)
                    {
                        node.Result = InferenceResult.Failure(ErrorCode.Unavailable, "timeout of the corresponding sequence has been expired");
                        node.FailureReason = FailureReason.Rejected;
                        Finish(node);
                    }
                    expired.Clear();
                }
                if (batch.Count > 0)
                {
                    Execute(instance, batch, requests, responseArrays);
                    batch.Clear();
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

    /// <summary>Waits for a batch for instance <paramref name="index"/>; false when stopping with nothing left.</summary>
    private bool TakeBatchLocked(int index, List<LiveSequence> ready, List<SequenceRequest> batch, List<SequenceRequest> expired)
    {
        var slots = _slots[index];
        while (true)
        {
            var now = _time.GetTimestamp();
            var wakeAt = Math.Min(ReapIdleLocked(now), ExpireBacklogLocked(now, expired));
            if (expired.Count > 0)
            {
                return true;
            }
            ready.Clear();
            var held = 0;
            foreach (var sequence in slots)
            {
                if (sequence is null)
                {
                    continue;
                }
                held++;
                if (!sequence.Executing && sequence.Pending.Count > 0)
                {
                    ready.Add(sequence);
                }
            }
            if (held == 0 && _stopping)
            {
                return false;
            }
            var take = ready.Count > 0 ? BatchSizeToRun(ready, now, slots.Length, ref wakeAt) : 0;
            if (take > 0)
            {
                for (var i = 0; i < take; i++)
                {
                    var sequence = ready[i];
                    var node = sequence.Pending.Dequeue();
                    node.Dispatched = true;
                    sequence.Executing = true;
                    node.BatchStartTimestamp = now;
                    batch.Add(node);
                }
                _queued -= take;
                return true;
            }
            if (wakeAt == long.MaxValue)
            {
                Monitor.Wait(_lock);
            }
            else
            {
                var wait = _time.GetElapsedTime(now, wakeAt);
                Monitor.Wait(_lock, wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait);
            }
        }
    }

    /// <summary>How many of <paramref name="ready"/> to run now (ordered first when it returns &gt; 0); 0 to wait, with
    /// <paramref name="wakeAt"/> lowered to when the batching delay ends.</summary>
    private int BatchSizeToRun(List<LiveSequence> ready, long now, int slotCount, ref long wakeAt)
    {
        var maxRequests = _settings.MaxRequestsPerBatch;
        var oldest = long.MaxValue;
        foreach (var s in ready)
        {
            oldest = Math.Min(oldest, s.Pending.Peek().EnqueueTimestamp);
        }
        var delayOver = _stopping || now - oldest >= _delayTicks;
        if (_settings.Strategy == SequenceStrategy.Direct)
        {
            var needed = (int)Math.Ceiling(_settings.MinimumSlotUtilization * slotCount);
            if (ready.Count < needed && !delayOver)
            {
                wakeAt = Math.Min(wakeAt, oldest + _delayTicks);
                return 0;
            }
            return Math.Min(ready.Count, maxRequests);
        }

        ready.Sort(static (a, b) => a.Pending.Peek().EnqueueTimestamp.CompareTo(b.Pending.Peek().EnqueueTimestamp));
        var n = Math.Min(ready.Count, maxRequests);
        if (n == maxRequests)
        {
            return n;
        }
        var preferred = 0;
        foreach (var p in _settings.PreferredBatchSizes)
        {
            if (p <= n)
            {
                preferred = p;
            }
        }
        if (preferred == n || delayOver)
        {
            return n;
        }
        wakeAt = Math.Min(wakeAt, oldest + _delayTicks);
        return 0;
    }

    private void Execute(IModelInstance instance, List<SequenceRequest> batch, List<InferenceRequest> requests, InferenceResponse[]?[] responseArrays)
    {
        var count = batch.Count;
        requests.Clear();
        var rows = 0;
        for (var i = 0; i < count; i++)
        {
            batch[i].Sequence!.AttachInputs(batch[i]);
            requests.Add(batch[i].Request);
            rows += Math.Max(batch[i].Request.BatchSize, 1);
        }
        var responses = responseArrays[count] ??= new InferenceResponse[count];
        var timings = default(ExecutionTimings);
        Exception? failure = null;
        try
        {
            instance.Execute(requests, responses, ref timings);
        }
        catch (Exception ex)
        {
            failure = ex;
            SchedulerLog.ExecutionFailed(_logger, _modelName, instance.Name, count, ex);
        }
        requests.Clear();
        if (failure is null)
        {
            _statistics.RecordExecution(rows, timings, _time.GetUtcNow().ToUnixTimeMilliseconds());
        }
        for (var i = 0; i < count; i++)
        {
            var node = batch[i];
            var response = responses[i];
            responses[i] = null!;
            string? stateError = null;
            if (failure is null && response is not null)
            {
                stateError = node.Sequence!.TakeStateOutputs(response);
            }
            if (failure is not null || response is null || stateError is not null)
            {
                response?.Dispose();
                node.Result = InferenceResult.Failure(ErrorCode.Internal, failure?.Message
                    ?? stateError
                    ?? $"Instance '{instance.Name}' of model '{_modelName}' returned no response for request '{node.Request.Id}'");
                node.FailureReason = FailureReason.Backend;
            }
            else
            {
                node.Result = InferenceResult.Success(response);
                node.Timings = timings;
            }
        }
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            foreach (var node in batch)
            {
                var sequence = node.Sequence!;
                sequence.Executing = false;
                sequence.LastRequestTimestamp = now;
                if (sequence.Ended && sequence.Pending.Count == 0)
                {
                    ReleaseSlotLocked(sequence);
                }
            }
            Monitor.PulseAll(_lock);
        }
        foreach (var node in batch)
        {
            Finish(node);
        }
    }

    private void Finish(SequenceRequest node)
    {
        node.Registration.Unregister();
        var now = _time.GetTimestamp();
        var request = node.Request;
        var received = request.ReceivedTimestamp != 0 ? request.ReceivedTimestamp : node.EnqueueTimestamp;
        var requestNs = ElapsedNs(received, now);
        if (node.FailureReason is { } reason)
        {
            _statistics.RecordFailure(requestNs, reason);
        }
        else
        {
            _statistics.RecordSuccess(requestNs, ElapsedNs(node.EnqueueTimestamp, node.BatchStartTimestamp), node.Timings);
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

    private long MicrosecondsToTicks(ulong microseconds) =>
        (long)Math.Min((double)microseconds * _time.TimestampFrequency / 1_000_000, long.MaxValue / 2);
}
