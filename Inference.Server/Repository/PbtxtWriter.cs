using System.Collections;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Inference.Server.Repository;

/// <summary>
/// Writes a message as protobuf text format in Triton's config.pbtxt style: fields in declaration order,
/// only fields that are set (non-default scalars, present messages, set oneof members), repeated scalars as
/// <c>dims: [ 3, 224, 224 ]</c>, repeated messages and map entries as repeated blocks, map entries sorted
/// by key. The output parses back with <see cref="PbtxtParser"/> to an equal message. Thread-safe.
/// </summary>
public static class PbtxtWriter
{
    public static string Write(IMessage message)
    {
        var sb = new StringBuilder();
        WriteFields(sb, message, 0);
        return sb.ToString();
    }

    private static void WriteFields(StringBuilder sb, IMessage message, int indent)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                WriteMap(sb, field, (IDictionary)value, indent);
            }
            else if (field.IsRepeated)
            {
                var list = (IList)value;
                if (list.Count == 0)
                {
                    continue;
                }
                if (field.FieldType == FieldType.Message)
                {
                    foreach (var item in list)
                    {
                        WriteMessageBlock(sb, field.Name, (IMessage)item, indent);
                    }
                }
                else
                {
                    Indent(sb, indent).Append(field.Name).Append(": [ ");
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(", ");
                        }
                        AppendScalar(sb, field, list[i]!);
                    }
                    sb.Append(" ]\n");
                }
            }
            else if (IsSet(message, field, value))
            {
                if (field.FieldType == FieldType.Message)
                {
                    WriteMessageBlock(sb, field.Name, (IMessage)value, indent);
                }
                else
                {
                    Indent(sb, indent).Append(field.Name).Append(": ");
                    AppendScalar(sb, field, value);
                    sb.Append('\n');
                }
            }
        }
    }

    private static bool IsSet(IMessage message, FieldDescriptor field, object? value)
    {
        if (field.RealContainingOneof is { } oneof)
        {
            return oneof.Accessor.GetCaseFieldDescriptor(message) == field;
        }
        return value switch
        {
            null => false,
            IMessage => true,
            string s => s.Length > 0,
            ByteString b => b.Length > 0,
            bool b => b,
            float f => f != 0 || float.IsNegative(f),
            double d => d != 0 || double.IsNegative(d),
            Enum e => Convert.ToInt64(e, CultureInfo.InvariantCulture) != 0,
            _ => Convert.ToDecimal(value, CultureInfo.InvariantCulture) != 0,
        };
    }

    private static void WriteMap(StringBuilder sb, FieldDescriptor field, IDictionary map, int indent)
    {
        if (map.Count == 0)
        {
            return;
        }
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);
        var keys = new List<object>();
        foreach (var k in map.Keys)
        {
            keys.Add(k);
        }
        keys.Sort(Comparer<object>.Default);
        foreach (var key in keys)
        {
            Indent(sb, indent).Append(field.Name).Append(" {\n");
            Indent(sb, indent + 1).Append("key: ");
            AppendScalar(sb, keyField, key);
            sb.Append('\n');
            var value = map[key]!;
            if (valueField.FieldType == FieldType.Message)
            {
                WriteMessageBlock(sb, "value", (IMessage)value, indent + 1);
            }
            else
            {
                Indent(sb, indent + 1).Append("value: ");
                AppendScalar(sb, valueField, value);
                sb.Append('\n');
            }
            Indent(sb, indent).Append("}\n");
        }
    }

    private static void WriteMessageBlock(StringBuilder sb, string name, IMessage value, int indent)
    {
        Indent(sb, indent).Append(name).Append(" {");
        int mark = sb.Length;
        sb.Append('\n');
        WriteFields(sb, value, indent + 1);
        if (sb.Length == mark + 1)
        {
            sb.Length = mark;
            sb.Append(" }\n");
            return;
        }
        Indent(sb, indent).Append("}\n");
    }

    private static void AppendScalar(StringBuilder sb, FieldDescriptor field, object value)
    {
        switch (value)
        {
            case string s:
                AppendQuoted(sb, Encoding.UTF8.GetBytes(s), utf8: true);
                break;
            case ByteString b:
                AppendQuoted(sb, b.ToByteArray(), utf8: false);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case float f:
                AppendFloating(sb, f, f.ToString("R", CultureInfo.InvariantCulture));
                break;
            case double d:
                AppendFloating(sb, d, d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case Enum e:
                {
                    int n = Convert.ToInt32(e, CultureInfo.InvariantCulture);
                    sb.Append(field.EnumType.FindValueByNumber(n)?.Name ?? n.ToString(CultureInfo.InvariantCulture));
                    break;
                }
            default:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void AppendFloating(StringBuilder sb, double v, string text)
    {
        if (double.IsNaN(v))
        {
            sb.Append("nan");
        }
        else if (double.IsInfinity(v))
        {
            sb.Append(v > 0 ? "inf" : "-inf");
        }
        else
        {
            sb.Append(text);
        }
    }

    /// <summary>Quotes bytes with C escapes. For strings, UTF-8 sequences are written as text.</summary>
    private static void AppendQuoted(StringBuilder sb, byte[] bytes, bool utf8)
    {
        sb.Append('"');
        if (utf8)
        {
            foreach (var rune in Encoding.UTF8.GetString(bytes).EnumerateRunes())
            {
                if (rune.Value < 0x80)
                {
                    AppendAsciiByte(sb, (byte)rune.Value);
                }
                else
                {
                    sb.Append(rune.ToString());
                }
            }
        }
        else
        {
            foreach (var b in bytes)
            {
                AppendAsciiByte(sb, b);
            }
        }
        sb.Append('"');
    }

    private static void AppendAsciiByte(StringBuilder sb, byte b)
    {
        switch (b)
        {
            case (byte)'\n': sb.Append("\\n"); break;
            case (byte)'\r': sb.Append("\\r"); break;
            case (byte)'\t': sb.Append("\\t"); break;
            case (byte)'"': sb.Append("\\\""); break;
            case (byte)'\'': sb.Append("\\'"); break;
            case (byte)'\\': sb.Append("\\\\"); break;
            default:
                if (b is < 0x20 or >= 0x7F)
                {
                    sb.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0'));
                }
                else
                {
                    sb.Append((char)b);
                }
                break;
        }
    }

    private static StringBuilder Indent(StringBuilder sb, int indent) => sb.Append(' ', indent * 2);
}
