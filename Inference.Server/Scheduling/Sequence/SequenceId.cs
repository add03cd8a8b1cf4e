using System.Globalization;

namespace Inference.Server.Scheduling.Sequence;

/// <summary>A correlation id: an unsigned integer or a string (Triton's InferenceRequest::SequenceId). 0 and "" mean none.</summary>
public readonly record struct SequenceId
{
    private SequenceId(ulong number, string? text)
    {
        Number = number;
        Text = text;
    }

    public ulong Number { get; }

    /// <summary>Set for string ids.</summary>
    public string? Text { get; }

    public bool IsString => Text is not null;

    /// <summary>Whether the request belongs to a sequence (a non-zero or non-empty id).</summary>
    public bool InSequence => IsString ? Text!.Length > 0 : Number != 0;

    public static SequenceId FromNumber(ulong number) => new(number, null);

    public static SequenceId FromString(string text) => new(0, text);

    public override string ToString() => Text ?? Number.ToString(CultureInfo.InvariantCulture);
}
