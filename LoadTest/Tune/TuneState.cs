using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace LoadTest.Tune;

/// <summary>
/// The resume file (<c>tune-state.json</c> in the output folder): the settings the run was started with, the
/// variants built, and every point's result in the order measured. Rewritten atomically after each point, so a
/// stopped run (Ctrl+C, a crash, a lost machine) loses at most the point it was measuring. A run resumes only with
/// the same settings (<see cref="Settings"/> compared as JSON): results measured under other settings would mix.
/// </summary>
public sealed record TuneState(JsonElement Settings, IReadOnlyList<VariantRecord> Variants, IReadOnlyList<PointResult> Results)
{
    public const string FileName = "tune-state.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new AcceleratorSpecJsonConverter() },
    };

    public static TuneState New(object settings) => new(JsonSerializer.SerializeToElement(settings, Json), [], []);

    /// <summary>Reads the state file of <paramref name="directory"/>, or null when there is none. Throws
    /// <see cref="InvalidDataException"/> when it cannot be read.</summary>
    public static TuneState? Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<TuneState>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a tune state file: {e.Message}", e);
        }
    }

    /// <summary>True when this state was written with <paramref name="settings"/>, but for <c>max_configs</c>: how
    /// far a search goes changes neither its path nor its measurements, so a resumed run may go further.</summary>
    public bool SameSettings(object settings) => Comparable(Settings) == Comparable(JsonSerializer.SerializeToElement(settings, Json));

    /// <summary>This state, resumed under <paramref name="settings"/> (equal by <see cref="SameSettings"/>).</summary>
    public TuneState ResumedWith(object settings) => this with { Settings = JsonSerializer.SerializeToElement(settings, Json) };

    private static string Comparable(JsonElement settings)
    {
        var node = JsonNode.Parse(settings.GetRawText())!.AsObject();
        node.Remove("max_configs");
        return node.ToJsonString();
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public TuneState With(PointResult result) => this with { Results = [.. Results, result] };

    public TuneState With(VariantRecord variant) => this with { Variants = [.. Variants.Where(v => v.Precision != variant.Precision), variant] };

    public IReadOnlyDictionary<string, PointResult> ByKey() => Results.ToDictionary(r => r.Key, StringComparer.Ordinal);
}

/// <summary>An <see cref="AcceleratorSpec"/> as its canonical text (<c>cuda:prefer_nhwc=1</c>).</summary>
public sealed class AcceleratorSpecJsonConverter : JsonConverter<AcceleratorSpec>
{
    public override AcceleratorSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        try
        {
            return AcceleratorSpec.Parse(reader.GetString() ?? throw new JsonException("accelerator must be a string"));
        }
        catch (FormatException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(Utf8JsonWriter writer, AcceleratorSpec value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text);
}
