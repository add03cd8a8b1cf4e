using System.Globalization;
using System.Text;
using System.Text.Json;
using Inference.Server.ModelTools;
using Inference.Server.Repository;

namespace LoadTest.Tune;

/// <summary>
/// Writes a run's results into its output folder: <c>results.csv</c> (one row per measured level of every point,
/// and one per point that was not measured), <c>results.json</c> (the whole <see cref="TuneReport"/>),
/// <c>report.html</c> (<see cref="TuneHtml"/>), and, when a point met the constraints, <c>best/&lt;model&gt;/</c>: the
/// best point's <c>config.pbtxt</c> (named as the source model) with its variant's <c>1/model.onnx</c> and the
/// model folder's other files, ready to drop into a repository. Returns the paths written.
/// </summary>
public static class TuneFiles
{
    public static IReadOnlyList<string> Write(string directory, TuneReport report, string repository)
    {
        Directory.CreateDirectory(directory);
        var csv = Path.Combine(directory, "results.csv");
        var json = Path.Combine(directory, "results.json");
        var html = Path.Combine(directory, "report.html");
        AtomicFile.WriteAllText(csv, Csv(report));
        AtomicFile.WriteAllText(json, JsonSerializer.Serialize(report, TuneState.Json));
        AtomicFile.WriteAllText(html, TuneHtml.Render(report));
        var files = new List<string> { csv, json, html };
        var best = Path.Combine(directory, "best");
        if (Directory.Exists(best))
        {
            Directory.Delete(best, recursive: true);
        }
        if (report.Best is { } row)
        {
            files.Add(WriteBest(best, report.Settings.ModelName, row.Result, report.BestConfigText!, repository));
        }
        return files;
    }

    public const string CsvHeader =
        "order,stage,key,precision,accelerator,instances,queue_delay_us,preferred_batch_sizes,cuda_graphs,status,concurrency,infer_per_sec," +
        "p50_us,p90_us,p99_us,errors,stable,server_queue_us,server_compute_infer_us,avg_batch,gpu_memory_used_bytes,gpu_utilization,level_feasible,point_feasible,best,note";

    public static string Csv(TuneReport report)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(CsvHeader).Append('\n');
        foreach (var row in report.Points)
        {
            var r = row.Result;
            var p = r.Point;
            var prefix = string.Join(',', r.Order.ToString(c), r.Stage, Quote(r.Key), p.Precision, Quote(p.Accelerator.Text), p.Instances.ToString(c),
                p.QueueDelayUs?.ToString(c) ?? "off", string.Join('/', p.PreferredBatchSizes), string.Join('/', p.CudaGraphBatchSizes), r.Status.ToString().ToLowerInvariant());
            var suffix = string.Join(',', row.Feasible ? "yes" : "no", r.Key == report.BestKey ? "yes" : "no", Quote(row.Why ?? ""));
            if (r.Levels.Count == 0)
            {
                sb.Append(prefix).Append(",,,,,,,,,,,,,,").Append(suffix).Append('\n');
            }
            foreach (var l in r.Levels)
            {
                sb.Append(prefix).Append(',').Append(string.Join(',', l.Concurrency.ToString(c), l.InferencesPerSecond.ToString("F1", c), l.P50Us.ToString("F0", c),
                    l.P90Us.ToString("F0", c), l.P99Us.ToString("F0", c), l.Errors.ToString(c), l.Stable is { } s ? (s ? "yes" : "no") : "",
                    l.QueueUs?.ToString("F1", c) ?? "", l.ComputeInferUs?.ToString("F1", c) ?? "", l.AverageBatchSize?.ToString("F2", c) ?? "",
                    l.GpuMemoryUsedBytes?.ToString("F0", c) ?? "", l.GpuUtilization?.ToString("F3", c) ?? "",
                    report.Settings.Goal.IsFeasible(l) ? "yes" : "no")).Append(',').Append(suffix).Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>The best point's config.pbtxt as written: the point's config under the source model's name.</summary>
    public static string BestConfig(PointResult result, string modelName)
    {
        var parsed = PbtxtParser.ParseModelConfig(result.ConfigText, "tune config");
        var config = parsed.IsSuccess ? parsed.Value! : throw new InvalidDataException($"the best point's config does not parse: {parsed.Error!.Message}");
        config.Name = modelName;
        return PbtxtWriter.Write(config);
    }

    private static string WriteBest(string best, string modelName, PointResult result, string configText, string repository)
    {
        var variantFolder = Path.Combine(repository, ModelVariants.ModelName(modelName, result.Point.Precision));
        var target = Path.Combine(best, modelName);
        Directory.CreateDirectory(Path.Combine(target, "1"));
        File.Copy(Path.Combine(variantFolder, "1", ModelSource.ModelFileName), Path.Combine(target, "1", ModelSource.ModelFileName));
        foreach (var file in Directory.EnumerateFiles(variantFolder).Where(f => Path.GetFileName(f) != ModelSource.ConfigFileName))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        var path = Path.Combine(target, ModelSource.ConfigFileName);
        AtomicFile.WriteAllText(path, configText);
        return path;
    }

    private static string Quote(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal)
        ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : s;
}
