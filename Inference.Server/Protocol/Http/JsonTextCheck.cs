using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Inference.Server.Core;

namespace Inference.Server.Protocol.Http;

/// <summary>
/// Checks that every string and property name of a JSON request is text: UTF-8 (the only encoding JSON allows)
/// whose <c>\u</c> escapes pair their surrogates. <see cref="Utf8JsonReader"/> checks neither while it reads; its
/// GetString and escaped-name comparisons throw later instead. A valid text costs one vectorized UTF-8 validation
/// and one search for <c>\u</c>, without allocating; only a text that fails one of them is walked token by token to
/// name the first bad string by its path. Stateless; thread-safe.
/// </summary>
public static class JsonTextCheck
{
    /// <summary>
    /// Null when every string and property name of <paramref name="json"/> is text, or when a syntax error (or
    /// nesting deeper than <paramref name="maxDepth"/>) comes before the first one that is not: the parser reports
    /// those. Otherwise an InvalidArgument error naming the first bad one:
    /// <c>invalid UTF-8 in 'inputs[0].name'</c>, <c>invalid UTF-8 in a key of 'parameters'</c>,
    /// <c>invalid UTF-8 in a key of the request</c> (the top-level object), with
    /// <c>: a \u escape of an unpaired surrogate</c> after it when the bytes are UTF-8 but an escape is not text.
    /// </summary>
    public static InferenceError? Check(ReadOnlySpan<byte> json, int maxDepth)
    {
        if (Utf8.IsValid(json) && !MayHoldSurrogateEscape(json))
        {
            return null;
        }
        return FindInvalidString(json, maxDepth);
    }

    /// <summary>Whether <paramref name="json"/> holds <c>\uD800</c> to <c>\uDFFF</c> (or something that looks like it,
    /// such as an escaped backslash before <c>uD8</c>): only then can an escape fail to decode.</summary>
    private static bool MayHoldSurrogateEscape(ReadOnlySpan<byte> json)
    {
        while (true)
        {
            var at = json.IndexOf("\\u"u8);
            if (at < 0)
            {
                return false;
            }
            if (at + 3 >= json.Length)
            {
                return true;
            }
            if (json[at + 2] is (byte)'d' or (byte)'D' && HexDigitFrom8(json[at + 3]))
            {
                return true;
            }
            json = json[(at + 2)..];
        }
    }

    private static bool HexDigitFrom8(byte b) => b is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static InferenceError? FindInvalidString(ReadOnlySpan<byte> json, int maxDepth)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        var open = new List<Container>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        open.Add(new Container(reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        ValueEnded(open);
                        break;
                    case JsonTokenType.PropertyName:
                    {
                        var problem = Problem(ref reader);
                        if (problem is not null)
                        {
                            var owner = Path(open, open.Count - 1);
                            return ProtocolErrors.Invalid($"invalid UTF-8 in a key of {(owner.Length == 0 ? "the request" : $"'{owner}'")}{problem}");
                        }
                        open[^1].Name = reader.GetString();
                        break;
                    }
                    case JsonTokenType.String:
                    {
                        var problem = Problem(ref reader);
                        if (problem is not null)
                        {
                            var where = Path(open, open.Count);
                            return ProtocolErrors.Invalid($"invalid UTF-8 in {(where.Length == 0 ? "the request" : $"'{where}'")}{problem}");
                        }
                        ValueEnded(open);
                        break;
                    }
                    default:
                        ValueEnded(open);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // A syntax error before any bad string: the parser reports it, with its position.
        }
        return null;
    }

    /// <summary>Null when the current string token is text; otherwise the detail that follows the path ("" for
    /// bytes that are not UTF-8).</summary>
    private static string? Problem(ref Utf8JsonReader reader)
    {
        if (!Utf8.IsValid(reader.ValueSpan))
        {
            return "";
        }
        if (reader.ValueIsEscaped)
        {
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return @": a \u escape of an unpaired surrogate";
            }
        }
        return null;
    }

    private static void ValueEnded(List<Container> open)
    {
        if (open.Count > 0 && open[^1].IsArray)
        {
            open[^1].Index++;
        }
    }

    /// <summary>The path of the value at the current position of the first <paramref name="count"/> containers,
    /// e.g. <c>inputs[0].name</c>; "" for the top level.</summary>
    private static string Path(List<Container> open, int count)
    {
        var path = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var c = open[i];
            if (c.IsArray)
            {
                path.Append('[').Append(c.Index).Append(']');
            }
            else
            {
                if (path.Length > 0)
                {
                    path.Append('.');
                }
                path.Append(c.Name);
            }
        }
        return path.ToString();
    }

    /// <summary>An open object (with the name of its current property) or array (with the index of its current element).</summary>
    private sealed class Container(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public int Index { get; set; }

        public string? Name { get; set; }
    }
}
