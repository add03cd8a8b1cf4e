using Microsoft.Extensions.Logging;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>Source-generated log messages of the sequence batcher.</summary>
internal static partial class SequenceLog
{
    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning,
        Message = "sequence {SequenceId} for model '{Model}' has a conflict. The previous sequence did not end before this sequence start. Previous sequence will be terminated early.")]
    public static partial void RestartedBeforeEnd(ILogger logger, string sequenceId, string model);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Debug,
        Message = "sequence {SequenceId} of model '{Model}' was idle longer than max_sequence_idle_microseconds: its slot is released")]
    public static partial void IdleReleased(ILogger logger, string sequenceId, string model);
}
