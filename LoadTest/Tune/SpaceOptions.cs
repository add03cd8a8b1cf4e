using System.Globalization;
using Inference.Server.Protos;

namespace LoadTest.Tune;

/// <summary>
/// The search space as the command line gives it, parsed and checked against the model's max_batch_size. Each
/// list's first value is the baseline's. Batch size lists are comma separated numbers or <c>max</c> (the model's
/// max_batch_size), or <c>none</c>/<c>off</c>. A value that could never take effect is an error, not ignored:
/// CUDA graphs without the cuda accelerator, preferred batch sizes without dynamic batching, batching options on a
/// model that does not batch. Throws <see cref="FormatException"/> naming the option.
/// </summary>
public static class SpaceOptions
{
    public static TuneSpace Parse(IReadOnlyList<string> precisions, IReadOnlyList<string> accelerators, IReadOnlyList<string> cudaGraphs,
        string instances, string queueDelays, IReadOnlyList<string> preferred, int maxBatchSize)
    {
        var p = precisions.SelectMany(Split).Select(x => x.ToLowerInvariant()).ToList();
        foreach (var x in p.Where(x => !TuneSpace.KnownPrecisions.Contains(x)))
        {
            throw new FormatException($"--precision: unknown precision '{x}' (known: {string.Join(", ", TuneSpace.KnownPrecisions)})");
        }
        var a = accelerators.Select(text => Wrap("--accelerator", () => AcceleratorSpec.Parse(text))).ToList();
        var graphs = cudaGraphs.Select(g => Sizes("--cuda-graphs", g, maxBatchSize)).ToList();
        var counts = Split(instances).Select(i => Int("--instances", i, min: 1)).ToList();
        var delays = Split(queueDelays).Select(d => d is "off" or "none" ? (int?)null : Int("--max-queue-delay-us", d, min: 0)).ToList();
        var pref = preferred.Select(g => Sizes("--preferred-batch-sizes", g, maxBatchSize)).ToList();
        foreach (var (name, count) in new[] { ("--precision", p.Count), ("--accelerator", a.Count), ("--cuda-graphs", graphs.Count), ("--instances", counts.Count),
            ("--max-queue-delay-us", delays.Count), ("--preferred-batch-sizes", pref.Count) })
        {
            if (count == 0)
            {
                throw new FormatException($"{name}: no value given");
            }
        }
        Unique("--precision", p);
        Unique("--accelerator", a.Select(x => x.Text));
        Unique("--cuda-graphs", graphs.Select(g => string.Join("/", g)));
        Unique("--instances", counts.Select(c => c.ToString(CultureInfo.InvariantCulture)));
        Unique("--max-queue-delay-us", delays.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "off"));
        Unique("--preferred-batch-sizes", pref.Select(g => string.Join("/", g)));
        if (graphs.Any(g => g.Count > 0) && a.All(x => x.Name != "cuda"))
        {
            throw new FormatException("--cuda-graphs: CUDA graphs apply to the cuda accelerator only; add --accelerator cuda or leave --cuda-graphs off");
        }
        if (pref.Any(g => g.Count > 0) && delays.All(d => d is null))
        {
            throw new FormatException("--preferred-batch-sizes: preferred sizes need dynamic batching; give --max-queue-delay-us a value other than off");
        }
        if (maxBatchSize == 0 && (delays.Any(d => d is not null) || graphs.Any(g => g.Count > 0)))
        {
            throw new FormatException("--max-queue-delay-us / --cuda-graphs: the model does not batch (max_batch_size 0); use --max-queue-delay-us off");
        }
        var space = new TuneSpace(p, a, graphs, counts, delays, pref, maxBatchSize);
        return space.Check(space.Baseline) is { } invalid
            ? throw new FormatException($"the baseline (each option's first value) is not a valid config: {invalid}")
            : space;
    }

    /// <summary>The defaults of the instances, queue delay and preferred sizes options, so that the baseline is the
    /// model's own config (its instance count, its dynamic batching or none): instances its count, then 1 and 2;
    /// delays its delay (or off), then off, 0 and 1000 us (only off when it does not batch); preferred sizes its own,
    /// then none.</summary>
    public static (string Instances, string QueueDelays, string[] Preferred) Defaults(ModelConfig source)
    {
        var c = CultureInfo.InvariantCulture;
        var count = source.InstanceGroup.Count > 0 ? Math.Max(1, source.InstanceGroup[0].Count) : 1;
        var instances = string.Join(",", new[] { count, 1, 2 }.Distinct().Select(i => i.ToString(c)));
        var batching = source.DynamicBatching;
        var delays = source.MaxBatchSize == 0 ? "off"
            : string.Join(",", new[] { batching is null ? "off" : batching.MaxQueueDelayMicroseconds.ToString(c), "off", "0", "1000" }.Distinct());
        string[] preferred = batching is { PreferredBatchSize.Count: > 0 } && source.MaxBatchSize > 0
            ? [string.Join(",", batching.PreferredBatchSize.Select(b => b.ToString(c))), "none"]
            : ["none"];
        return (instances, delays, preferred);
    }

    /// <summary>A batch size list: <c>none</c>/<c>off</c> (empty) or numbers and <c>max</c>, sorted, each in 1..max_batch_size.</summary>
    public static IReadOnlyList<int> Sizes(string option, string text, int maxBatchSize)
    {
        var items = Split(text);
        if (items.Count == 1 && items[0] is "none" or "off")
        {
            return [];
        }
        var sizes = items.Select(i => i == "max" ? maxBatchSize : Int(option, i, min: 1)).Distinct().Order().ToList();
        return sizes.FirstOrDefault(s => s > maxBatchSize) is var over and > 0
            ? throw new FormatException($"{option} {text}: {over} exceeds the model's max_batch_size {maxBatchSize}")
            : sizes;
    }

    private static List<string> Split(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static int Int(string option, string text, int min) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min
            ? v
            : throw new FormatException($"{option}: '{text}' is not a whole number >= {min}");

    private static void Unique(string option, IEnumerable<string> values)
    {
        if (values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new FormatException($"{option}: '{twice.Key}' given twice");
        }
    }

    private static T Wrap<T>(string option, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new FormatException($"{option} {e.Message}", e);
        }
    }
}
