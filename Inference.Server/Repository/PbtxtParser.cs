using System.Collections;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// Parses protobuf text format (the language of Triton's config.pbtxt) into any generated message, driven by
/// its descriptor: scalars, enums by name or number, nested messages in <c>{ }</c> or <c>&lt; &gt;</c>,
/// repeated fields as repeated entries or <c>[a, b]</c> lists (of scalars or of messages), maps, oneofs,
/// <c>#</c> comments and optional <c>,</c>/<c>;</c> separators. A non-repeated field given twice, or two
/// members of one oneof, is an error (as in protobuf's C++ TextFormat).
/// Errors come back as values: <c>file:line:column: message</c>, naming the field path.
/// Stateless and thread-safe.
/// </summary>
public static class PbtxtParser
{
    /// <summary>Parses Triton's config.pbtxt. <paramref name="fileName"/> only prefixes error messages.</summary>
    public static Result<ModelConfig> ParseModelConfig(string text, string fileName) => Parse<ModelConfig>(text, fileName);

    /// <summary>Parses text format into a new <typeparamref name="T"/>.</summary>
    public static Result<T> Parse<T>(string text, string fileName)
        where T : IMessage<T>, new()
    {
        var message = new T();
        var lexer = new PbtxtLexer(text);
        try
        {
            new Reader(lexer).ParseFields(message, message.Descriptor, null, "");
            return message;
        }
        catch (PbtxtSyntaxException e)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"{fileName}:{e.Line}:{e.Column}: {e.Message}");
        }
    }

    private sealed class Reader(PbtxtLexer lexer)
    {
        public void ParseFields(IMessage message, MessageDescriptor descriptor, PbtxtToken? open, string path)
        {
            char? close = open is { } o ? (o.IsSymbol('<') ? '>' : '}') : null;
            var seen = new HashSet<int>();
            var oneofs = new Dictionary<OneofDescriptor, FieldDescriptor>();
            while (true)
            {
                var t = lexer.Peek();
                if (t.Kind == PbtxtTokenKind.End)
                {
                    if (open is { } op)
                    {
                        throw Error(t, $"unterminated '{op.Text}' opened at {op.Line}:{op.Column} for '{path}'");
                    }
                    return;
                }
                if (close is { } c && t.IsSymbol(c))
                {
                    lexer.Next();
                    return;
                }
                lexer.Next();
                if (t.Kind != PbtxtTokenKind.Identifier)
                {
                    throw Error(t, $"expected a field name in {descriptor.FullName}{At(path)} but found {t.Describe()}");
                }
                var field = descriptor.FindFieldByName(t.Text)
                    ?? throw Error(t, $"unknown field '{t.Text}' in {descriptor.FullName}{At(path)}");
                string fieldPath = path.Length == 0 ? field.Name : path + "." + field.Name;
                if (!field.IsRepeated && !seen.Add(field.FieldNumber))
                {
                    throw Error(t, $"non-repeated field '{fieldPath}' is specified more than once");
                }
                if (field.RealContainingOneof is { } oneof)
                {
                    if (oneofs.TryGetValue(oneof, out var other) && other != field)
                    {
                        throw Error(t, $"field '{fieldPath}' is specified along with '{other.Name}', another member of oneof '{oneof.Name}'");
                    }
                    oneofs[oneof] = field;
                }
                ParseField(message, field, fieldPath);
                var sep = lexer.Peek();
                if (sep.IsSymbol(',') || sep.IsSymbol(';'))
                {
                    lexer.Next();
                }
            }
        }

        private void ParseField(IMessage message, FieldDescriptor field, string path)
        {
            bool isMessage = field.FieldType is FieldType.Message or FieldType.Group;
            var t = lexer.Peek();
            if (t.IsSymbol(':'))
            {
                lexer.Next();
            }
            else if (!isMessage)
            {
                throw Error(t, $"expected ':' after field '{path}' but found {t.Describe()}");
            }
            if (lexer.Peek().IsSymbol('['))
            {
                var open = lexer.Next();
                if (!field.IsRepeated)
                {
                    throw Error(open, $"field '{path}' is not repeated; a list is not allowed");
                }
                if (lexer.Peek().IsSymbol(']'))
                {
                    lexer.Next();
                    return;
                }
                while (true)
                {
                    ParseOneValue(message, field, path);
                    var next = lexer.Next();
                    if (next.IsSymbol(']'))
                    {
                        return;
                    }
                    if (next.Kind == PbtxtTokenKind.End)
                    {
                        throw Error(next, $"unterminated '[' opened at {open.Line}:{open.Column} for '{path}'");
                    }
                    if (!next.IsSymbol(','))
                    {
                        throw Error(next, $"expected ',' or ']' in the list of '{path}' but found {next.Describe()}");
                    }
                }
            }
            ParseOneValue(message, field, path);
        }

        private void ParseOneValue(IMessage message, FieldDescriptor field, string path)
        {
            if (field.IsMap)
            {
                ParseMapEntry((IDictionary)field.Accessor.GetValue(message), field, path);
            }
            else if (field.FieldType is FieldType.Message or FieldType.Group)
            {
                var open = ExpectOpen(path);
                var child = NewMessage(field.MessageType);
                if (field.IsRepeated)
                {
                    var list = (IList)field.Accessor.GetValue(message);
                    ParseFields(child, field.MessageType, open, $"{path}[{list.Count}]");
                    list.Add(child);
                }
                else
                {
                    ParseFields(child, field.MessageType, open, path);
                    field.Accessor.SetValue(message, child);
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                list.Add(ParseScalar(field, $"{path}[{list.Count}]"));
            }
            else
            {
                field.Accessor.SetValue(message, ParseScalar(field, path));
            }
        }

        private void ParseMapEntry(IDictionary map, FieldDescriptor field, string path)
        {
            var open = ExpectOpen(path);
            char close = open.IsSymbol('<') ? '>' : '}';
            var keyField = field.MessageType.FindFieldByNumber(1);
            var valueField = field.MessageType.FindFieldByNumber(2);
            object? key = null, value = null;
            PbtxtToken keyToken = open;
            while (true)
            {
                var t = lexer.Next();
                if (t.IsSymbol(close))
                {
                    break;
                }
                if (t.Kind == PbtxtTokenKind.End)
                {
                    throw Error(t, $"unterminated '{open.Text}' opened at {open.Line}:{open.Column} for '{path}'");
                }
                if (t.Kind != PbtxtTokenKind.Identifier || (t.Text != "key" && t.Text != "value"))
                {
                    throw Error(t, $"expected 'key' or 'value' in map entry of '{path}' but found {t.Describe()}");
                }
                bool isKey = t.Text == "key";
                if ((isKey ? key : value) is not null)
                {
                    throw Error(t, $"map entry of '{path}' has more than one '{t.Text}'");
                }
                if (isKey)
                {
                    ExpectColon(path + ".key");
                    keyToken = lexer.Peek();
                    key = ParseScalar(keyField, path + ".key");
                }
                else if (valueField.FieldType == FieldType.Message)
                {
                    if (lexer.Peek().IsSymbol(':'))
                    {
                        lexer.Next();
                    }
                    var child = NewMessage(valueField.MessageType);
                    ParseFields(child, valueField.MessageType, ExpectOpen(path + ".value"), $"{path}[{FormatKey(key)}]");
                    value = child;
                }
                else
                {
                    ExpectColon(path + ".value");
                    value = ParseScalar(valueField, $"{path}[{FormatKey(key)}]");
                }
                var sep = lexer.Peek();
                if (sep.IsSymbol(',') || sep.IsSymbol(';'))
                {
                    lexer.Next();
                }
            }
            key ??= DefaultScalar(keyField);
            value ??= valueField.FieldType == FieldType.Message ? NewMessage(valueField.MessageType) : DefaultScalar(valueField);
            if (map.Contains(key))
            {
                throw Error(keyToken, $"duplicate key {FormatKey(key)} in map '{path}'");
            }
            map[key] = value;
        }

        private PbtxtToken ExpectOpen(string path)
        {
            var t = lexer.Next();
            if (!t.IsSymbol('{') && !t.IsSymbol('<'))
            {
                throw Error(t, $"expected '{{' to open message '{path}' but found {t.Describe()}");
            }
            return t;
        }

        private void ExpectColon(string path)
        {
            var t = lexer.Next();
            if (!t.IsSymbol(':'))
            {
                throw Error(t, $"expected ':' after '{path}' but found {t.Describe()}");
            }
        }

        private object ParseScalar(FieldDescriptor field, string path)
        {
            var t = lexer.Next();
            bool negative = false;
            var first = t;
            if (t.IsSymbol('-'))
            {
                negative = true;
                t = lexer.Next();
            }
            switch (field.FieldType)
            {
                case FieldType.String:
                case FieldType.Bytes:
                    {
                        if (negative || t.Kind != PbtxtTokenKind.String)
                        {
                            throw Mismatch(first, field, path, "a string");
                        }
                        var bytes = new List<byte>(t.Bytes!);
                        while (lexer.Peek().Kind == PbtxtTokenKind.String)
                        {
                            bytes.AddRange(lexer.Next().Bytes!);
                        }
                        return field.FieldType == FieldType.String
                            ? System.Text.Encoding.UTF8.GetString(bytes.ToArray())
                            : ByteString.CopyFrom(bytes.ToArray());
                    }
                case FieldType.Bool:
                    if (!negative)
                    {
                        switch (t.Text)
                        {
                            case "true" or "True" or "t" when t.Kind == PbtxtTokenKind.Identifier:
                            case "1" when t.Kind == PbtxtTokenKind.Number:
                                return true;
                            case "false" or "False" or "f" when t.Kind == PbtxtTokenKind.Identifier:
                            case "0" when t.Kind == PbtxtTokenKind.Number:
                                return false;
                        }
                    }
                    throw Mismatch(first, field, path, "true or false");
                case FieldType.Enum:
                    {
                        EnumValueDescriptor? v = null;
                        if (t.Kind == PbtxtTokenKind.Identifier && !negative)
                        {
                            v = field.EnumType.FindValueByName(t.Text);
                        }
                        else if (t.Kind == PbtxtTokenKind.Number && TryParseInteger(t.Text, negative, out var n) && InRange(n, int.MinValue, int.MaxValue))
                        {
                            v = field.EnumType.FindValueByNumber((int)n);
                        }
                        if (v is null)
                        {
                            var names = string.Join(", ", field.EnumType.Values.Select(x => x.Name));
                            throw Error(first, $"invalid value '{(negative ? "-" : "")}{t.Text}' for enum field '{path}' ({field.EnumType.FullName}); expected one of {names}");
                        }
                        return Enum.ToObject(field.EnumType.ClrType, v.Number);
                    }
                case FieldType.Float:
                case FieldType.Double:
                    {
                        if (!TryParseFloating(t, negative, out var d))
                        {
                            throw Mismatch(first, field, path, "a number");
                        }
                        if (field.FieldType == FieldType.Float)
                        {
                            return (float)d;
                        }
                        return d;
                    }
                default:
                    {
                        if (t.Kind != PbtxtTokenKind.Number || !TryParseInteger(t.Text, negative, out var n))
                        {
                            throw Mismatch(first, field, path, "an integer");
                        }
                        object? result = field.FieldType switch
                        {
                            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 =>
                                InRange(n, int.MinValue, int.MaxValue) ? (int)n : null,
                            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 =>
                                InRange(n, long.MinValue, long.MaxValue) ? (long)n : null,
                            FieldType.UInt32 or FieldType.Fixed32 => InRange(n, 0, uint.MaxValue) ? (uint)n : null,
                            FieldType.UInt64 or FieldType.Fixed64 => InRange(n, 0, ulong.MaxValue) ? (ulong)n : null,
                            _ => null,
                        };
                        return result ?? throw Error(first, $"value {(negative ? "-" : "")}{t.Text} is out of range for field '{path}' ({TypeName(field)})");
                    }
            }
        }

        private static bool InRange(Int128 n, Int128 min, Int128 max) => n >= min && n <= max;

        private static bool TryParseInteger(string text, bool negative, out Int128 value)
        {
            value = 0;
            UInt128 magnitude;
            if (text.Length > 2 && text[0] == '0' && (text[1] is 'x' or 'X'))
            {
                if (!UInt128.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude))
                {
                    return false;
                }
            }
            else if (text.Length > 1 && text[0] == '0')
            {
                magnitude = 0;
                foreach (char c in text.AsSpan(1))
                {
                    if (c is < '0' or > '7' || magnitude > ulong.MaxValue)
                    {
                        return false;
                    }
                    magnitude = magnitude * 8 + (uint)(c - '0');
                }
            }
            else if (!UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude))
            {
                return false;
            }
            if (magnitude > ulong.MaxValue)
            {
                return false;
            }
            value = negative ? -(Int128)magnitude : (Int128)magnitude;
            return true;
        }

        private static bool TryParseFloating(PbtxtToken t, bool negative, out double value)
        {
            value = 0;
            if (t.Kind == PbtxtTokenKind.Identifier)
            {
                switch (t.Text.ToLowerInvariant())
                {
                    case "inf" or "infinity":
                        value = negative ? double.NegativeInfinity : double.PositiveInfinity;
                        return true;
                    case "nan":
                        value = double.NaN;
                        return true;
                    default:
                        return false;
                }
            }
            if (t.Kind != PbtxtTokenKind.Number)
            {
                return false;
            }
            var s = t.Text.AsSpan();
            if (s.Length > 2 && s[0] == '0' && (s[1] is 'x' or 'X'))
            {
                if (!TryParseInteger(t.Text, negative, out var n))
                {
                    return false;
                }
                value = (double)n;
                return true;
            }
            if (s.Length > 1 && (s[^1] is 'f' or 'F'))
            {
                s = s[..^1];
            }
            if (!double.TryParse(s, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value))
            {
                return false;
            }
            if (negative)
            {
                value = -value;
            }
            return true;
        }

        private static object DefaultScalar(FieldDescriptor field) => field.FieldType switch
        {
            FieldType.String => "",
            FieldType.Bytes => ByteString.Empty,
            FieldType.Bool => false,
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => 0,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => 0L,
            FieldType.UInt32 or FieldType.Fixed32 => 0u,
            FieldType.UInt64 or FieldType.Fixed64 => 0ul,
            FieldType.Float => 0f,
            FieldType.Double => 0d,
            FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, 0),
            _ => throw new InvalidOperationException($"no default for {field.FieldType}"),
        };

        private static IMessage NewMessage(MessageDescriptor descriptor) =>
            (IMessage)Activator.CreateInstance(descriptor.ClrType)!;

        private static string FormatKey(object? key) => key switch
        {
            null => "?",
            string s => "\"" + s + "\"",
            _ => Convert.ToString(key, CultureInfo.InvariantCulture) ?? "?",
        };

        private static string At(string path) => path.Length == 0 ? "" : $" (at '{path}')";

        private static string TypeName(FieldDescriptor field) =>
            field.FieldType == FieldType.Enum ? field.EnumType.FullName : field.FieldType.ToString().ToLowerInvariant();

        private static PbtxtSyntaxException Mismatch(PbtxtToken t, FieldDescriptor field, string path, string expected) =>
            Error(t, $"field '{path}' ({TypeName(field)}) expects {expected} but found {t.Describe()}");

        private static PbtxtSyntaxException Error(PbtxtToken t, string message) => new(t.Line, t.Column, message);
    }
}
