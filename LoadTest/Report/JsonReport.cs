using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadTest.Report;

/// <summary>The whole <see cref="RunReport"/> as indented JSON (snake_case names; latencies in microseconds).</summary>
public static class JsonReport
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize(RunReport report) => JsonSerializer.Serialize(report, Options);
}
