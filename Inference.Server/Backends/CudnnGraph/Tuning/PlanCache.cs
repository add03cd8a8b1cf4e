using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Inference.Server.ModelTools;

namespace Inference.Server.Backends.CudnnGraph.Tuning;

/// <summary>
/// The cuDNN plans chosen by timing, kept on disk so that a restarted server does not tune every layer again.
/// One file may serve pods of several node pools (one shared volume): entries of every GPU, driver and cuDNN
/// version stay in it, and <see cref="TryGet"/> finds only an entry whose key is equal in every field.
/// <para>The file is JSON, <c>{"format":"aspire-inference/cudnn-plan-cache","version":1,"entries":[...]}</c>,
/// its entries sorted by key so that the same entries always give the same bytes. A file that cannot be read as
/// that format (not JSON, another format or version, a malformed entry) is a cache miss for every layer, never
/// an error: <see cref="Load"/> returns an empty cache and says why in <see cref="Warning"/>, and the next
/// <see cref="Save"/> replaces the file.</para>
/// Thread-safe.
/// </summary>
public sealed class PlanCache
{
    public const string Format = "aspire-inference/cudnn-plan-cache";
    public const int Version = 1;

    private readonly Lock _lock = new();
    private readonly Dictionary<PlanCacheKey, PlanChoice> _entries = [];

    /// <summary>Why the file given to <see cref="Load"/> was ignored (naming it); null when it was read or missing.</summary>
    public string? Warning { get; private init; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Reads the cache at <paramref name="path"/>; a missing file (or folder) gives an empty cache.</summary>
    /// <exception cref="IOException">The file exists but could not be read.</exception>
    public static PlanCache Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new PlanCache();
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var (entries, problem) = Read(document.RootElement);
            if (problem is not null)
            {
                return new PlanCache { Warning = $"Plan cache '{path}' ignored: {problem}." };
            }
            var cache = new PlanCache();
            foreach (var (key, choice) in entries)
            {
                cache._entries[key] = choice;
            }
            return cache;
        }
        catch (JsonException e)
        {
            return new PlanCache { Warning = $"Plan cache '{path}' ignored: not valid JSON ({e.Message})." };
        }
    }

    public bool TryGet(PlanCacheKey key, out PlanChoice choice)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            return _entries.TryGetValue(key, out choice!);
        }
    }

    /// <summary>Adds or replaces the choice for <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">A field of the key or the engine is null, or the time is negative or not finite.</exception>
    public void Set(PlanCacheKey key, PlanChoice choice)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(choice);
        if (key.Gpu is null || key.ComputeCapability is null || key.Driver is null || key.Cudnn is null || key.Operation is null)
        {
            throw new ArgumentException("Every field of a plan cache key must be set.", nameof(key));
        }
        if (choice.Engine is null)
        {
            throw new ArgumentException("The engine of a plan choice must be set.", nameof(choice));
        }
        if (!double.IsFinite(choice.Microseconds) || choice.Microseconds < 0)
        {
            throw new ArgumentException($"The time of a plan choice must be finite and not negative, not {choice.Microseconds}.", nameof(choice));
        }
        lock (_lock)
        {
            _entries[key] = choice;
        }
    }

    /// <summary>Writes every entry to <paramref name="path"/> atomically (its folder is created if missing).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        KeyValuePair<PlanCacheKey, PlanChoice>[] entries;
        lock (_lock)
        {
            entries = [.. _entries];
        }
        AtomicFile.WriteAllText(path, ToJson(entries) + "\n");
    }

    private static string ToJson(KeyValuePair<PlanCacheKey, PlanChoice>[] entries)
    {
        Array.Sort(entries, (a, b) => CompareKeys(a.Key, b.Key));
        using var stream = new MemoryStream();
        // Relaxed escaping keeps operation texts ('<', '+', non-ASCII) readable; the file is never embedded in HTML.
        var options = new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var w = new Utf8JsonWriter(stream, options))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", Version);
            w.WriteStartArray("entries");
            foreach (var (key, choice) in entries)
            {
                w.WriteStartObject();
                w.WriteString("gpu", key.Gpu);
                w.WriteString("compute_capability", key.ComputeCapability);
                w.WriteString("driver", key.Driver);
                w.WriteString("cudnn", key.Cudnn);
                w.WriteString("operation", key.Operation);
                w.WriteString("engine", choice.Engine);
                w.WriteNumber("microseconds", choice.Microseconds);
                w.WriteBoolean("fused", choice.Fused);
                w.WriteString("measured_at", choice.MeasuredAt);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static int CompareKeys(PlanCacheKey a, PlanCacheKey b)
    {
        var c = string.CompareOrdinal(a.Gpu, b.Gpu);
        if (c != 0)
        {
            return c;
        }
        c = string.CompareOrdinal(a.ComputeCapability, b.ComputeCapability);
        if (c != 0)
        {
            return c;
        }
        c = string.CompareOrdinal(a.Driver, b.Driver);
        if (c != 0)
        {
            return c;
        }
        c = string.CompareOrdinal(a.Cudnn, b.Cudnn);
        return c != 0 ? c : string.CompareOrdinal(a.Operation, b.Operation);
    }

    /// <summary>The entries of a parsed file, or why it is not a plan cache of this version.</summary>
    private static (List<(PlanCacheKey, PlanChoice)> Entries, string? Problem) Read(JsonElement root)
    {
        var entries = new List<(PlanCacheKey, PlanChoice)>();
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("format", out var format)
            || format.ValueKind != JsonValueKind.String
            || format.GetString() != Format)
        {
            return (entries, $"not a {Format} file");
        }
        if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number)
        {
            return (entries, "no version");
        }
        if (!version.TryGetInt32(out var number) || number != Version)
        {
            return (entries, $"version {version.GetRawText()}, not {Version}");
        }
        if (!root.TryGetProperty("entries", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return (entries, "no entries array");
        }

        var index = 0;
        foreach (var entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !TryString(entry, "gpu", out var gpu)
                || !TryString(entry, "compute_capability", out var computeCapability)
                || !TryString(entry, "driver", out var driver)
                || !TryString(entry, "cudnn", out var cudnn)
                || !TryString(entry, "operation", out var operation)
                || !TryString(entry, "engine", out var engine)
                || !entry.TryGetProperty("microseconds", out var microseconds)
                || microseconds.ValueKind != JsonValueKind.Number
                || !microseconds.TryGetDouble(out var time)
                || !double.IsFinite(time)
                || time < 0
                || !entry.TryGetProperty("fused", out var fused)
                || fused.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                || !entry.TryGetProperty("measured_at", out var measuredAt)
                || measuredAt.ValueKind != JsonValueKind.String
                || !measuredAt.TryGetDateTimeOffset(out var when))
            {
                return ([], $"entry {index} is malformed");
            }
            entries.Add((new PlanCacheKey(gpu, computeCapability, driver, cudnn, operation),
                new PlanChoice(engine, time, fused.GetBoolean(), when)));
            index++;
        }
        return (entries, null);
    }

    private static bool TryString(JsonElement entry, string name, out string value)
    {
        if (entry.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String)
        {
            value = element.GetString()!;
            return true;
        }
        value = "";
        return false;
    }
}
