using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Inference.Server.ModelTools.Accuracy;

/// <summary>
/// How closely a derived model (FP16, INT8, preprocessing variant) reproduces its FP32 reference on held-out
/// inputs. Rows are the per-sample output vectors (the first output, flattened per sample).
/// </summary>
/// <param name="Tool">The tool that produced the candidate (e.g. "quantize --int8").</param>
/// <param name="Samples">Number of compared rows (held-out samples).</param>
/// <param name="Top1Agreement">Fraction of rows whose arg-max index is the same in both models, in [0, 1].</param>
/// <param name="MaxAbsDiff">Largest |reference - candidate| over all elements.</param>
/// <param name="MeanAbsDiff">Mean |reference - candidate| over all elements.</param>
/// <param name="CosineMean">Mean over rows of the cosine similarity between reference and candidate rows.</param>
/// <param name="CosineMin">Smallest row cosine similarity.</param>
public sealed record AccuracyReport(
    string Tool,
    string Reference,
    string Candidate,
    int Samples,
    double Top1Agreement,
    double MaxAbsDiff,
    double MeanAbsDiff,
    double CosineMean,
    double CosineMin)
{
    /// <summary>Extra facts of the tool run (calibration method, inputs used...), written into the JSON.</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();

    /// <summary>One line for the console.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Tool}: {Samples} held-out samples, top-1 agreement {Top1Agreement:P1}, cosine mean {CosineMean:F5} (min {CosineMin:F5}), " +
        $"max |diff| {MaxAbsDiff:G4}, mean |diff| {MeanAbsDiff:G4}");

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("tool", Tool);
            w.WriteString("reference", Reference);
            w.WriteString("candidate", Candidate);
            w.WriteNumber("samples", Samples);
            w.WriteNumber("top1_agreement", Top1Agreement);
            w.WriteNumber("max_abs_diff", MaxAbsDiff);
            w.WriteNumber("mean_abs_diff", MeanAbsDiff);
            w.WriteNumber("cosine_similarity_mean", CosineMean);
            w.WriteNumber("cosine_similarity_min", CosineMin);
            w.WriteStartObject("details");
            foreach (var (key, value) in Details.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <see cref="ToJson"/> atomically to <paramref name="path"/>.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");
}
