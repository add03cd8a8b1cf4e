namespace Inference.Server.Repository;

internal enum PbtxtTokenKind
{
    End,
    Identifier,
    Number,
    String,
    Symbol,
}

/// <summary>One lexical token of protobuf text format. <see cref="Bytes"/> holds a string literal's decoded
/// bytes (escapes resolved); <see cref="Text"/> is the source spelling otherwise (for strings: the bytes as UTF-8).
/// Line and column are 1-based.</summary>
internal readonly record struct PbtxtToken(PbtxtTokenKind Kind, string Text, int Line, int Column, byte[]? Bytes = null)
{
    public bool IsSymbol(char c) => Kind == PbtxtTokenKind.Symbol && Text.Length == 1 && Text[0] == c;

    public string Describe() => Kind switch
    {
        PbtxtTokenKind.End => "end of file",
        PbtxtTokenKind.String => $"string \"{Text}\"",
        _ => $"'{Text}'",
    };
}
