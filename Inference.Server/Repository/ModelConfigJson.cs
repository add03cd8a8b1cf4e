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
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static string ToJson(ModelConfig config)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            TritonProtoJsonWriter.Write(writer, config);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
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
}
