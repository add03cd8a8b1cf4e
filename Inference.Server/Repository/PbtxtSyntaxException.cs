namespace Inference.Server.Repository;

/// <summary>A text-format error at a position. Internal to the parser, which turns it into an
/// <see cref="Core.InferenceError"/> before returning; never escapes the public API.</summary>
internal sealed class PbtxtSyntaxException(int line, int column, string message) : Exception(message)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}
