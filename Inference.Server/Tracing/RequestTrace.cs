namespace Inference.Server.Tracing;

/// <summary>
/// One sampled request's trace (Triton's TRITONSERVER_InferenceTrace at level TIMESTAMPS): the timestamps
/// (<see cref="TimeProvider"/> ticks, 0 = not reached) written where each event happens (the front-end, the scheduler,
/// the instance's execution). The front-end that sampled it calls <see cref="Complete"/> once the request is answered,
/// whatever its outcome; the trace then goes to its setting's output.
/// </summary>
/// <remarks>A request that is not traced carries no trace (null): the scheduler pays one null check.</remarks>
public sealed class RequestTrace
{
    private readonly TraceSetting _setting;
    private int _completed;

    internal RequestTrace(TraceSetting setting, ulong id, string modelName, string requestId, long requestStart)
    {
        _setting = setting;
        Id = id;
        ModelName = modelName;
        RequestId = requestId;
        RequestStart = requestStart;
    }

    /// <summary>Triton's trace id: from 1, one per trace, server-wide.</summary>
    public ulong Id { get; }

    public string ModelName { get; }

    /// <summary>The version that served the request; -1 until the model manager resolves it.</summary>
    public long ModelVersion { get; set; } = -1;

    /// <summary>The request's id (empty when it had none).</summary>
    public string RequestId { get; }

    /// <summary>REQUEST_START: the request's arrival in the front-end.</summary>
    public long RequestStart { get; }

    /// <summary>QUEUE_START: the scheduler accepted it.</summary>
    public long QueueStart { get; private set; }

    public long ComputeStart { get; private set; }

    public long ComputeInputEnd { get; private set; }

    public long ComputeOutputStart { get; private set; }

    public long ComputeEnd { get; private set; }

    /// <summary>REQUEST_END: the scheduler completed it (response or error).</summary>
    public long RequestEnd { get; private set; }

    /// <summary>The span that was current when the request was sampled (its HTTP or gRPC call), the parent of the
    /// OpenTelemetry spans.</summary>
    internal System.Diagnostics.ActivityContext Parent { get; init; }

    /// <summary>The scheduler's side, written by the thread that completes the request, before its result is set.</summary>
    public void RecordScheduled(long queueStart, long requestEnd)
    {
        QueueStart = queueStart;
        RequestEnd = requestEnd;
    }

    /// <summary>The execution's phases: start and end around the instance's run; the input and output phase bounds
    /// from the instance's own durations.</summary>
    public void RecordCompute(long start, long inputEnd, long outputStart, long end)
    {
        ComputeStart = start;
        ComputeInputEnd = inputEnd;
        ComputeOutputStart = outputStart;
        ComputeEnd = end;
    }

    /// <summary>Hands the trace to its output; only the first call counts.</summary>
    public void Complete()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _setting.Collect(this);
        }
    }

    /// <summary>The reached timestamps in Triton's order, as (name, ticks).</summary>
    internal IEnumerable<(string Name, long Ticks)> Timestamps()
    {
        (string, long)[] all =
        [
            ("REQUEST_START", RequestStart), ("QUEUE_START", QueueStart), ("COMPUTE_START", ComputeStart),
            ("COMPUTE_INPUT_END", ComputeInputEnd), ("COMPUTE_OUTPUT_START", ComputeOutputStart), ("COMPUTE_END", ComputeEnd),
            ("REQUEST_END", RequestEnd),
        ];
        foreach (var (name, ticks) in all)
        {
            if (ticks != 0)
            {
                yield return (name, ticks);
            }
        }
    }
}
