using System.Collections;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Inference.Server.Core;

/// <summary>
/// Writes a protobuf message the way Triton's HTTP endpoints print ModelConfig and statistics: proto field names,
/// every primitive, repeated and map field present (defaults included), unset sub-messages left out, enums by
/// name, 64-bit integers as JSON numbers (Triton converts protobuf's int64 strings back to numbers), bytes as
/// base64. Google.Protobuf's JsonFormatter differs on the last point, hence this writer. Stateless; thread-safe.
/// Shared by the HTTP front-end (config, statistics) and <see cref="Repository.ModelConfigJson"/>.
/// </summary>
public static class TritonProtoJsonWriter
{
    public static void Write(Utf8JsonWriter writer, IMessage message)
    {
        writer.WriteStartObject();
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            WriteField(writer, message, field);
        }
        writer.WriteEndObject();
    }

    private static void WriteField(Utf8JsonWriter writer, IMessage message, FieldDescriptor field)
    {
        var value = field.Accessor.GetValue(message);
        if (field.IsMap)
        {
            writer.WritePropertyName(field.Name);
            var valueField = field.MessageType.FindFieldByNumber(2);
            writer.WriteStartObject();
            foreach (DictionaryEntry entry in (IDictionary)value)
            {
                writer.WritePropertyName(Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                WriteSingle(writer, valueField, entry.Value);
            }
            writer.WriteEndObject();
            return;
        }
        if (field.IsRepeated)
        {
            writer.WritePropertyName(field.Name);
            writer.WriteStartArray();
            foreach (var item in (IEnumerable)value)
            {
                WriteSingle(writer, field, item);
            }
            writer.WriteEndArray();
            return;
        }
        var oneof = field.ContainingOneof;
        if (oneof is not null && oneof.Accessor.GetCaseFieldDescriptor(message) != field)
        {
            return;
        }
        if (field.FieldType == FieldType.Message && value is null)
        {
            return;
        }
        writer.WritePropertyName(field.Name);
        WriteSingle(writer, field, value);
    }

    private static void WriteSingle(Utf8JsonWriter writer, FieldDescriptor field, object? value)
    {
        switch (field.FieldType)
        {
            case FieldType.Message or FieldType.Group:
                if (value is IMessage m)
                {
                    Write(writer, m);
                }
                else
                {
                    writer.WriteNullValue();
                }
                break;
            case FieldType.Enum:
                var number = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
                var name = field.EnumType.FindValueByNumber(number)?.Name;
                if (name is null)
                {
                    writer.WriteNumberValue(number);
                }
                else
                {
                    writer.WriteStringValue(name);
                }
                break;
            case FieldType.Bool:
                writer.WriteBooleanValue((bool)value!);
                break;
            case FieldType.String:
                writer.WriteStringValue((string)value!);
                break;
            case FieldType.Bytes:
                writer.WriteBase64StringValue(((ByteString)value!).Span);
                break;
            case FieldType.Float:
                WriteFloating(writer, (float)value!);
                break;
            case FieldType.Double:
                WriteFloating(writer, (double)value!);
                break;
            case FieldType.UInt64 or FieldType.Fixed64:
                writer.WriteNumberValue((ulong)value!);
                break;
            case FieldType.UInt32 or FieldType.Fixed32:
                writer.WriteNumberValue((uint)value!);
                break;
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                writer.WriteNumberValue((long)value!);
                break;
            default:
                writer.WriteNumberValue((int)value!);
                break;
        }
    }

    private static void WriteFloating(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            // Protobuf's JSON mapping spells non-finite values as strings.
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }
}
