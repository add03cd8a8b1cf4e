using Inference.Server.Core;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>One request inside the sequence batcher: its flags, its sequence and its completion.</summary>
internal sealed class SequenceRequest(InferenceRequest request, SequenceRequestFlags flags, long enqueueTimestamp)
    : TaskCompletionSource<InferenceResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public InferenceRequest Request { get; } = request;

    public SequenceRequestFlags Flags { get; } = flags;

    public long EnqueueTimestamp { get; } = enqueueTimestamp;

    /// <summary>Taken into a batch (then it completes normally), or completed; guarded by the scheduler's lock.</summary>
    public bool Dispatched;

    public CancellationTokenRegistration Registration;

    /// <summary>The sequence it belongs to, set when it is queued.</summary>
    public LiveSequence? Sequence;

    public long BatchStartTimestamp;
    public InferenceResult Result;
    public FailureReason? FailureReason;
    public ExecutionTimings Timings;
}

/// <summary>
/// One live sequence: its queued requests (run one at a time, in order), its implicit state and its control
/// tensors' buffers, and the batch slot it holds (none while it waits in the backlog). Guarded by the scheduler's
/// lock, except the buffers, which only the instance thread running the sequence's current request touches.
/// </summary>
internal sealed class LiveSequence
{
    private static readonly long[] BatchedControlShape = [1, 1];
    private static readonly long[] ControlShape = [1];

    private readonly SequenceSettings _settings;
    private readonly byte[][] _state;
    private readonly byte[] _start, _end, _ready, _corrid;
    private readonly long[][] _stateShapes;

    public LiveSequence(SequenceId id, SequenceSettings settings)
    {
        Id = id;
        _settings = settings;
        _state = [.. settings.States.Select(s => (byte[])s.InitialValue.Clone())];
        _stateShapes = [.. settings.States.Select(s => settings.MaxBatchSize > 0 ? [1, .. s.Dims] : s.Dims)];
        _start = new byte[settings.Start?.TrueValue.Length ?? 0];
        _end = new byte[settings.End?.TrueValue.Length ?? 0];
        _ready = settings.Ready?.TrueValue ?? [];
        _corrid = new byte[settings.CorrelationId?.DataType.ElementSize() ?? 0];
        WriteCorrelationId();
    }

    public SequenceId Id { get; }

    public Queue<SequenceRequest> Pending { get; } = new();

    /// <summary>Its current request is executing.</summary>
    public bool Executing;

    /// <summary>The instance and slot it holds; -1 while in the backlog.</summary>
    public int Instance = -1;
    public int Slot = -1;

    /// <summary>Timestamp of its latest request (for max_sequence_idle_microseconds).</summary>
    public long LastRequestTimestamp;

    /// <summary>While in the backlog: when it times out (the earliest deadline of its requests' timeout parameters).</summary>
    public long BacklogDeadline = long.MaxValue;

    /// <summary>Its END request has been accepted: it gives its slot back once that request ran.</summary>
    public bool Ended;

    /// <summary>Adds the control and state inputs the config asks for to <paramref name="node"/>'s request, and asks
    /// for the state outputs. Called on the executing thread before the batch runs.</summary>
    public void AttachInputs(SequenceRequest node)
    {
        var request = node.Request;
        var shape = _settings.MaxBatchSize > 0 ? BatchedControlShape : ControlShape;
        if (_settings.Start is { } start)
        {
            (node.Flags.Start ? start.TrueValue : start.FalseValue).CopyTo(_start, 0);
            request.Inputs.Add(new InferTensor(start.InputName, start.DataType, shape, _start));
        }
        if (_settings.End is { } end)
        {
            (node.Flags.End ? end.TrueValue : end.FalseValue).CopyTo(_end, 0);
            request.Inputs.Add(new InferTensor(end.InputName, end.DataType, shape, _end));
        }
        if (_settings.Ready is { } ready)
        {
            request.Inputs.Add(new InferTensor(ready.InputName, ready.DataType, shape, _ready));
        }
        if (_settings.CorrelationId is { } corrid)
        {
            request.Inputs.Add(new InferTensor(corrid.InputName, corrid.DataType, shape, _corrid));
        }
        for (var i = 0; i < _state.Length; i++)
        {
            var state = _settings.States[i];
            if (node.Flags.Start)
            {
                state.InitialValue.CopyTo(_state[i], 0);
            }
            request.Inputs.Add(new InferTensor(state.InputName, state.DataType, _stateShapes[i], _state[i]));
            if (request.Outputs.Count > 0)
            {
                request.Outputs.Add(new RequestedOutput(state.OutputName));
            }
        }
    }

    /// <summary>Keeps the state outputs of a successful response as the sequence's state and removes them from the
    /// response; returns an error when the model's state output does not have the state's size.</summary>
    public string? TakeStateOutputs(InferenceResponse response)
    {
        for (var i = 0; i < _state.Length; i++)
        {
            var state = _settings.States[i];
            var index = response.Outputs.FindIndex(t => t.Name == state.OutputName);
            if (index < 0)
            {
                return $"the model did not return state output '{state.OutputName}'";
            }
            var tensor = response.Outputs[index];
            response.Outputs.RemoveAt(index);
            using (tensor)
            {
                if (tensor.Data.Length != _state[i].Length)
                {
                    return $"state output '{state.OutputName}' has {tensor.Data.Length} bytes, the state '{state.InputName}' has {_state[i].Length}";
                }
                tensor.Data.Span.CopyTo(_state[i]);
            }
        }
        return null;
    }

    private void WriteCorrelationId()
    {
        if (_settings.CorrelationId is not { } c)
        {
            return;
        }
        var n = Id.Number;
        switch (c.DataType)
        {
            case DataType.UInt64 or DataType.Int64: BitConverter.TryWriteBytes(_corrid, n); break;
            default: BitConverter.TryWriteBytes(_corrid, unchecked((uint)n)); break;
        }
    }
}
