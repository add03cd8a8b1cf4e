using System.Text.Json;
using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// The InvalidArgument errors for JSON request bodies that System.Text.Json refuses, worded the same on every route:
/// <c>malformed JSON in request at line L, byte B: reason</c> (1-based positions; the reason without the reader's own
/// 0-based "LineNumber: | BytePositionInLine:" suffix). Stateless.
/// </summary>
public static class JsonRequestErrors
{
    /// <summary>A syntax error, nesting past the depth limit, or anything else the reader throws as <see cref="JsonException"/>.</summary>
    public static InferenceError Malformed(JsonException e)
    {
        var at = e.LineNumber is { } line && e.BytePositionInLine is { } b ? $" at line {line + 1}, byte {b + 1}" : "";
        return ProtocolErrors.Invalid($"malformed JSON in request{at}: {Reason(e.Message)}");
    }

    /// <summary>A value the reader found but could not convert (GetString on text that is not Unicode, for one); the
    /// strings are checked by <see cref="JsonTextCheck"/> first, so this is the safety net behind it.</summary>
    public static InferenceError Unreadable(InvalidOperationException e) =>
        ProtocolErrors.Invalid($"unreadable JSON in request: {Reason(e.Message)}");

    private static string Reason(string message)
    {
        foreach (var suffix in (ReadOnlySpan<string>)[" LineNumber:", " Path:"])
        {
            var cut = message.IndexOf(suffix, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return message;
    }
}
