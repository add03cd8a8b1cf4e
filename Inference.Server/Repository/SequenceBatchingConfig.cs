using Inference.Server.Core;
using Inference.Server.Protos;
using Inference.Server.Scheduling.Sequence;
using ControlKind = Inference.Server.Protos.ModelSequenceBatching.Types.Control.Types.Kind;
using ConfigDataType = Inference.Server.Protos.DataType;
using DataType = Inference.Server.Core.DataType;

namespace Inference.Server.Repository;

/// <summary>
/// Validation of <c>sequence_batching</c> (with Triton's messages where Triton has one) and its mapping to
/// <see cref="SequenceSettings"/>; also the names of the model inputs the sequence batcher feeds (control inputs and
/// implicit state inputs), which the config's <c>input</c> list does not name.
/// </summary>
public static class SequenceBatchingConfig
{
    /// <summary>The model inputs the sequence batcher supplies, with their data types; empty without sequence_batching.</summary>
    public static IReadOnlyDictionary<string, DataType> SuppliedInputs(ModelConfig? config)
    {
        var names = new Dictionary<string, DataType>(StringComparer.Ordinal);
        if (config?.SequenceBatching is not { } sb || config.SchedulingChoiceCase != ModelConfig.SchedulingChoiceOneofCase.SequenceBatching)
        {
            return names;
        }
        foreach (var input in sb.ControlInput)
        {
            foreach (var c in input.Control)
            {
                names[input.Name] = ControlType(c);
            }
        }
        foreach (var s in sb.State)
        {
            names[s.InputName] = (DataType)(int)s.DataType;
        }
        return names;
    }

    /// <summary>The model outputs that carry implicit state (kept by the server, never returned to clients).</summary>
    public static IReadOnlySet<string> StateOutputs(ModelConfig config) =>
        config.SchedulingChoiceCase == ModelConfig.SchedulingChoiceOneofCase.SequenceBatching
            ? config.SequenceBatching.State.Select(s => s.OutputName).ToHashSet(StringComparer.Ordinal)
            : new HashSet<string>();

    /// <summary>Fills in Triton's defaults, as the served config shows them: max_sequence_idle_microseconds 1 s, and
    /// for the oldest strategy preferred_batch_size [max_batch_size] when none is given.</summary>
    public static void ApplyDefaults(ModelConfig config)
    {
        if (config.SchedulingChoiceCase != ModelConfig.SchedulingChoiceOneofCase.SequenceBatching)
        {
            return;
        }
        var sb = config.SequenceBatching;
        if (sb.MaxSequenceIdleMicroseconds == 0)
        {
            sb.MaxSequenceIdleMicroseconds = SequenceSettings.DefaultIdleMicroseconds;
        }
        if (sb.StrategyChoiceCase == ModelSequenceBatching.StrategyChoiceOneofCase.Oldest && sb.Oldest.PreferredBatchSize.Count == 0 && config.MaxBatchSize > 0)
        {
            sb.Oldest.PreferredBatchSize.Add(config.MaxBatchSize);
        }
    }

    /// <summary>Checks sequence_batching of <paramref name="config"/> (file name <paramref name="f"/> for messages).</summary>
    public static InferenceError? Validate(ModelConfig config, string f)
    {
        var sb = config.SequenceBatching;
        var name = config.Name;
        if (sb.IterativeSequence)
        {
            return ConfigErrors.Unsupported(f, "sequence_batching.iterative_sequence", "iterative sequences (decoupled models) are not supported by this server");
        }
        if (config.ModelWarmup.Count > 0)
        {
            return ConfigErrors.Unsupported(f, "model_warmup", "warmup of models with sequence_batching is not supported by this server");
        }
        if (config.ResponseCache?.Enable == true)
        {
            return new InferenceError(ErrorCode.InvalidArgument,
                $"Response Cache does not currently support model {name} with sequence batching scheduler. Please disable the response cache.");
        }
        var seenTensors = new HashSet<string>(StringComparer.Ordinal);
        var seenKinds = new HashSet<ControlKind>();
        foreach (var input in sb.ControlInput)
        {
            if (input.Name.Length == 0)
            {
                return Invalid($"sequence batching control tensor must have a name for {name}");
            }
            if (!seenTensors.Add(input.Name))
            {
                return Invalid($"sequence batching control tensor '{input.Name}' is specified for multiple control kinds for {name}");
            }
            if (input.Control.Count != 1)
            {
                return ConfigErrors.Invalid(f, $"sequence_batching.control_input['{input.Name}']", "must hold exactly one control");
            }
            var c = input.Control[0];
            if (!Enum.IsDefined(c.Kind))
            {
                return ConfigErrors.Invalid(f, $"sequence_batching.control_input['{input.Name}'].kind", $"{(int)c.Kind} is not a control kind");
            }
            if (!seenKinds.Add(c.Kind))
            {
                return Invalid($"sequence batching specifies multiple {c.Kind.ToTritonName()} tensors for {name}");
            }
            if (c.Kind == ControlKind.ControlSequenceCorrid)
            {
                if (c.DataType is not (ConfigDataType.TypeUint64 or ConfigDataType.TypeInt64 or ConfigDataType.TypeUint32 or ConfigDataType.TypeInt32 or ConfigDataType.TypeString))
                {
                    return Invalid($"unexpected data type for control CONTROL_SEQUENCE_CORRID for {name}. Allowed data types are TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 and TYPE_STRING");
                }
                if (c.DataType == ConfigDataType.TypeString)
                {
                    return ConfigErrors.Unsupported(f, $"sequence_batching.control_input['{input.Name}'].data_type",
                        "a TYPE_STRING CORRID control needs a BYTES input, which the onnxruntime backend does not support; use TYPE_UINT64 (string sequence ids still work without a CORRID control)");
                }
                continue;
            }
            var kinds = (c.Int32FalseTrue.Count > 0 ? 1 : 0) + (c.Fp32FalseTrue.Count > 0 ? 1 : 0) + (c.BoolFalseTrue.Count > 0 ? 1 : 0);
            if (kinds == 0)
            {
                return Invalid($"sequence batching must specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for {c.Kind.ToTritonName()} for {name}");
            }
            if (kinds > 1)
            {
                return Invalid($"sequence batching specifies more than one from 'int32_false_true', 'fp32_false_true' and 'bool_false_true' for {c.Kind.ToTritonName()} for {name}");
            }
            var count = Math.Max(c.Int32FalseTrue.Count, Math.Max(c.Fp32FalseTrue.Count, c.BoolFalseTrue.Count));
            if (count != 2)
            {
                var field = c.Int32FalseTrue.Count > 0 ? "int32_false_true" : c.Fp32FalseTrue.Count > 0 ? "fp32_false_true" : "bool_false_true";
                return Invalid($"sequence batching control '{field}' must have exactly 2 entries for {c.Kind.ToTritonName()} for {name}");
            }
        }

        for (var i = 0; i < sb.State.Count; i++)
        {
            var s = sb.State[i];
            var path = $"sequence_batching.state[{i}]";
            if (s.InputName.Length == 0 || s.OutputName.Length == 0)
            {
                return ConfigErrors.Invalid(f, path, "input_name and output_name must be set");
            }
            if (!seenTensors.Add(s.InputName))
            {
                return ConfigErrors.Invalid(f, path + ".input_name", $"'{s.InputName}' is already a control or state input");
            }
            if (config.Input.Any(x => x.Name == s.InputName))
            {
                return Invalid($"State input name '{s.InputName}' cannot be the same as a model input name");
            }
            var type = (DataType)(int)s.DataType;
            if (type is DataType.Invalid or DataType.Bytes || !Enum.IsDefined(type))
            {
                return ConfigErrors.Unsupported(f, path + ".data_type", $"{s.DataType} is not supported for implicit state");
            }
            if (s.Dims.Count == 0 || s.Dims.Any(d => d <= 0))
            {
                return ConfigErrors.Unsupported(f, path + ".dims", "implicit state needs fixed, positive dims on this server");
            }
            if (s.UseGrowableMemory)
            {
                return ConfigErrors.Unsupported(f, path + ".use_growable_memory", "growable state memory is not supported by this server");
            }
            if (s.InitialState.Count > 1)
            {
                return Invalid($"initial_state field for state input '{s.InputName}' must contain exactly one or zero element. Found '{s.InitialState.Count}' elements.");
            }
            if (s.InitialState.Count == 1)
            {
                var init = s.InitialState[0];
                if (init.DataType != s.DataType)
                {
                    return Invalid($"The data type used for 'initial_state' field of state '{s.InputName}' does not match the data type in the 'state' description.");
                }
                if (!init.Dims.SequenceEqual(s.Dims))
                {
                    return Invalid($"'initial_state' dim for input name '{s.InputName}' doesn't match 'state' dim description.");
                }
                if (init.StateDataCase == ModelSequenceBatching.Types.InitialState.StateDataOneofCase.DataFile)
                {
                    return ConfigErrors.Unsupported(f, path + ".initial_state.data_file", "initial state from a file is not supported by this server; use zero_data");
                }
            }
        }

        switch (sb.StrategyChoiceCase)
        {
            case ModelSequenceBatching.StrategyChoiceOneofCase.Oldest:
                var o = sb.Oldest;
                if (config.MaxBatchSize <= 0)
                {
                    return ConfigErrors.Invalid(f, "sequence_batching.oldest", "requires max_batch_size > 0");
                }
                if (o.MaxCandidateSequences <= 0)
                {
                    return ConfigErrors.Invalid(f, "sequence_batching.oldest.max_candidate_sequences", $"must be >= 1, got {o.MaxCandidateSequences}");
                }
                foreach (var size in o.PreferredBatchSize)
                {
                    if (size <= 0)
                    {
                        return Invalid($"sequence batching preferred batch size must be positive for {name}");
                    }
                    if (size > config.MaxBatchSize)
                    {
                        return Invalid($"sequence batching preferred batch size must be <= max batch size for {name}");
                    }
                }
                if (o.PreserveOrdering)
                {
                    return ConfigErrors.Unsupported(f, "sequence_batching.oldest.preserve_ordering", "is not supported by this server");
                }
                if (o.MaxQueueDelayMicroseconds > long.MaxValue / 1000)
                {
                    return ConfigErrors.Invalid(f, "sequence_batching.oldest.max_queue_delay_microseconds", "is too large");
                }
                break;
            case ModelSequenceBatching.StrategyChoiceOneofCase.Direct:
                var d = sb.Direct;
                if (d.MinimumSlotUtilization is < 0f or > 1f || float.IsNaN(d.MinimumSlotUtilization))
                {
                    return Invalid($"sequence batching minimum slot utilization must be in range (0.0, 1.0] for {name}");
                }
                if (d.MaxQueueDelayMicroseconds > long.MaxValue / 1000)
                {
                    return ConfigErrors.Invalid(f, "sequence_batching.direct.max_queue_delay_microseconds", "is too large");
                }
                break;
        }
        if (sb.MaxSequenceIdleMicroseconds > long.MaxValue / 1000)
        {
            return ConfigErrors.Invalid(f, "sequence_batching.max_sequence_idle_microseconds", "is too large");
        }
        return null;
    }

    /// <summary>Maps a config that passed <see cref="Validate"/>.</summary>
    public static SequenceSettings ToSettings(ModelConfig config)
    {
        var sb = config.SequenceBatching;
        BooleanControl? start = null, end = null, ready = null;
        CorrelationIdControl? corrid = null;
        foreach (var input in sb.ControlInput)
        {
            var c = input.Control[0];
            switch (c.Kind)
            {
                case ControlKind.ControlSequenceStart: start = Boolean(input.Name, c); break;
                case ControlKind.ControlSequenceEnd: end = Boolean(input.Name, c); break;
                case ControlKind.ControlSequenceReady: ready = Boolean(input.Name, c); break;
                case ControlKind.ControlSequenceCorrid: corrid = new CorrelationIdControl(input.Name, (DataType)(int)c.DataType); break;
            }
        }
        var states = sb.State.Select(s =>
        {
            var type = (DataType)(int)s.DataType;
            var bytes = checked((int)(s.Dims.Aggregate(1L, (a, d) => a * d) * type.ElementSize()));
            return new ImplicitState(s.InputName, s.OutputName, type, [.. s.Dims], new byte[bytes]);
        }).ToArray();
        var oldest = sb.StrategyChoiceCase == ModelSequenceBatching.StrategyChoiceOneofCase.Oldest;
        return new SequenceSettings
        {
            Strategy = oldest ? SequenceStrategy.Oldest : SequenceStrategy.Direct,
            MaxBatchSize = config.MaxBatchSize,
            MaxSequenceIdleMicroseconds = sb.MaxSequenceIdleMicroseconds == 0 ? SequenceSettings.DefaultIdleMicroseconds : sb.MaxSequenceIdleMicroseconds,
            MaxQueueDelayMicroseconds = oldest ? sb.Oldest.MaxQueueDelayMicroseconds : sb.Direct?.MaxQueueDelayMicroseconds ?? 0,
            MinimumSlotUtilization = oldest ? 0f : sb.Direct?.MinimumSlotUtilization ?? 0f,
            MaxCandidateSequences = oldest ? sb.Oldest.MaxCandidateSequences : 0,
            PreferredBatchSizes = oldest
                ? (sb.Oldest.PreferredBatchSize.Count > 0 ? [.. sb.Oldest.PreferredBatchSize.Distinct().Order()] : [config.MaxBatchSize])
                : [],
            Start = start,
            End = end,
            Ready = ready,
            CorrelationId = corrid,
            States = states,
        };
    }

    private static BooleanControl Boolean(string name, ModelSequenceBatching.Types.Control c)
    {
        if (c.Int32FalseTrue.Count > 0)
        {
            return new BooleanControl(name, DataType.Int32, BitConverter.GetBytes(c.Int32FalseTrue[0]), BitConverter.GetBytes(c.Int32FalseTrue[1]));
        }
        if (c.Fp32FalseTrue.Count > 0)
        {
            return new BooleanControl(name, DataType.Fp32, BitConverter.GetBytes(c.Fp32FalseTrue[0]), BitConverter.GetBytes(c.Fp32FalseTrue[1]));
        }
        return new BooleanControl(name, DataType.Bool, [c.BoolFalseTrue[0] ? (byte)1 : (byte)0], [c.BoolFalseTrue[1] ? (byte)1 : (byte)0]);
    }

    private static DataType ControlType(ModelSequenceBatching.Types.Control c) =>
        c.Kind == ControlKind.ControlSequenceCorrid ? (DataType)(int)c.DataType
        : c.Int32FalseTrue.Count > 0 ? DataType.Int32
        : c.Fp32FalseTrue.Count > 0 ? DataType.Fp32
        : DataType.Bool;

    private static string ToTritonName(this ControlKind kind) => kind switch
    {
        ControlKind.ControlSequenceStart => "CONTROL_SEQUENCE_START",
        ControlKind.ControlSequenceReady => "CONTROL_SEQUENCE_READY",
        ControlKind.ControlSequenceEnd => "CONTROL_SEQUENCE_END",
        _ => "CONTROL_SEQUENCE_CORRID",
    };

    private static InferenceError Invalid(string message) => new(ErrorCode.InvalidArgument, message);
}
