using Inference.Server.Core;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>How the sequence batcher forms batches (Triton's sequence_batching strategy_choice).</summary>
public enum SequenceStrategy
{
    /// <summary>Each sequence owns a batch slot of one instance until it ends; a batch holds the ready slots.</summary>
    Direct,
    /// <summary>Each instance holds max_candidate_sequences sequences; a batch holds the oldest requests of distinct ones.</summary>
    Oldest,
}

/// <summary>
/// One boolean control input (START, END or READY): the model input it feeds and the little-endian bytes of
/// one element for false and for true (from int32_false_true, fp32_false_true or bool_false_true).
/// </summary>
public sealed record BooleanControl(string InputName, DataType DataType, byte[] FalseValue, byte[] TrueValue);

/// <summary>The CORRID control input: the model input that receives the sequence's correlation id.</summary>
public sealed record CorrelationIdControl(string InputName, DataType DataType);

/// <summary>
/// One implicit state (Triton's sequence_batching.state): the server feeds <see cref="InputName"/> with the
/// sequence's state and keeps what the model writes to <see cref="OutputName"/> for the sequence's next request.
/// <see cref="InitialValue"/> is the state at START (zeros unless initial_state says otherwise), <see cref="Dims"/>
/// the shape without the batch dimension.
/// </summary>
public sealed record ImplicitState(string InputName, string OutputName, DataType DataType, long[] Dims, byte[] InitialValue)
{
    public int ByteSize => InitialValue.Length;
}

/// <summary>
/// The sequence_batching part of a validated model config, with Triton's defaults applied
/// (max_sequence_idle_microseconds 1 s, oldest's preferred_batch_size max_batch_size).
/// </summary>
public sealed record SequenceSettings
{
    /// <summary>Triton's SEQUENCE_IDLE_DEFAULT_MICROSECONDS.</summary>
    public const ulong DefaultIdleMicroseconds = 1_000_000;

    public SequenceStrategy Strategy { get; init; }

    /// <summary>The model's max_batch_size (0: each execution runs one request).</summary>
    public int MaxBatchSize { get; init; }

    /// <summary>A sequence with no request for this long loses its slot.</summary>
    public ulong MaxSequenceIdleMicroseconds { get; init; } = DefaultIdleMicroseconds;

    /// <summary>How long a batch may wait for more ready sequences (direct and oldest).</summary>
    public ulong MaxQueueDelayMicroseconds { get; init; }

    /// <summary>Direct: the fraction of an instance's slots that must be ready before a batch runs early.</summary>
    public float MinimumSlotUtilization { get; init; }

    /// <summary>Oldest: sequences each instance holds at once.</summary>
    public int MaxCandidateSequences { get; init; }

    /// <summary>Oldest: batch sizes that run without waiting for the delay, ascending.</summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    public BooleanControl? Start { get; init; }

    public BooleanControl? End { get; init; }

    public BooleanControl? Ready { get; init; }

    public CorrelationIdControl? CorrelationId { get; init; }

    public IReadOnlyList<ImplicitState> States { get; init; } = [];

    /// <summary>Slots of one instance: max_batch_size (at least 1) for direct, max_candidate_sequences for oldest.</summary>
    public int SlotsPerInstance => Strategy == SequenceStrategy.Direct ? Math.Max(MaxBatchSize, 1) : MaxCandidateSequences;

    /// <summary>Requests of one execution at most.</summary>
    public int MaxRequestsPerBatch => Math.Min(Math.Max(MaxBatchSize, 1), SlotsPerInstance);
}
