using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// Triton's JSON form of <see cref="ModelConfig"/> (what <c>GET /v2/models/{m}/config</c> returns and what
/// the repository extension's load accepts as a config override): proto field names preserved
/// (<c>max_batch_size</c>), enums by name, primitive fields printed even when default, and 64-bit integers
/// (e.g. <c>dims</c>) as JSON numbers, not strings. Thread-safe.
/// </summary>
public static class ModelConfigJson
{
    private static readonly JsonFormatter Formatter =
        new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true));

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static string ToJson(ModelConfig config)
    {
        var node = JsonNode.Parse(Formatter.Format(config))!;
        Fix64BitIntegers(node, ModelConfig.Descriptor);
        return node.ToJsonString();
    }

    /// <summary>Parses Triton's JSON config. Accepts 64-bit integers as numbers or strings, and proto or
    /// lowerCamel field names; unknown fields are errors.</summary>
    public static Result<ModelConfig> Parse(string json)
    {
        try
        {
            return Parser.Parse<ModelConfig>(json);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or System.Text.Json.JsonException)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"invalid model config JSON: {e.Message}");
        }
    }

    private static void Fix64BitIntegers(JsonNode? node, MessageDescriptor descriptor)
    {
        if (node is not JsonObject obj)
        {
            return;
        }
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (!obj.TryGetPropertyValue(field.Name, out var value) || value is null)
            {
                continue;
            }
            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                if (value is JsonObject entries)
                {
                    foreach (var key in entries.Select(p => p.Key).ToList())
                    {
                        if (valueField.FieldType == FieldType.Message)
                        {
                            Fix64BitIntegers(entries[key], valueField.MessageType);
                        }
                        else if (Is64Bit(valueField))
                        {
                            entries[key] = ToNumber(entries[key]);
                        }
                    }
                }
            }
            else if (field.IsRepeated && value is JsonArray array)
            {
                for (int i = 0; i < array.Count; i++)
                {
                    if (field.FieldType == FieldType.Message)
                    {
                        Fix64BitIntegers(array[i], field.MessageType);
                    }
                    else if (Is64Bit(field))
                    {
                        array[i] = ToNumber(array[i]);
                    }
                }
            }
            else if (field.FieldType == FieldType.Message)
            {
                Fix64BitIntegers(value, field.MessageType);
            }
            else if (Is64Bit(field))
            {
                obj[field.Name] = ToNumber(value);
            }
        }
    }

    private static bool Is64Bit(FieldDescriptor f) =>
        f.FieldType is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64;

    private static JsonNode? ToNumber(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            if (long.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var l))
            {
                return JsonValue.Create(l);
            }
            if (ulong.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var u))
            {
                return JsonValue.Create(u);
            }
        }
        return node?.DeepClone();
    }
}
