using System.Globalization;
using Inference.Server.ModelTools.Accuracy;
using Inference.Server.ModelTools.Onnx;
using Inference.Server.Protos;
using Inference.Server.Repository;
using OnnxModel = Inference.Server.Protos.Onnx.ModelProto;

namespace Inference.Server.ModelTools;

/// <summary>
/// Where a tool writes its model. An <c>--output</c> ending in .onnx is a plain file, with the accuracy report
/// beside it (<c>name.accuracy.json</c>). Anything else is a Triton model folder named like the model: the model
/// goes to <c>output/VERSION/model.onnx</c> (VERSION given, else one above the folder's highest, else 1) with
/// <c>output/VERSION/accuracy.json</c>, and output/config.pbtxt is written from the source's config (renamed, and
/// adjusted by the tool, e.g. a UINT8 input) or, without one, as name and platform only, for the server's
/// auto-complete. Other files of the source model folder (labels) are copied into a new folder.
/// </summary>
public sealed record ModelOutput(string ModelPath, string ReportPath, string? ConfigPath)
{
    public static ModelOutput Write(OnnxModel model, ModelSource source, string output, long? version, Action<ModelConfig>? adjustConfig = null)
    {
        var full = Path.GetFullPath(output);
        if (full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            OnnxModelFile.Save(model, full);
            return new ModelOutput(full, Path.ChangeExtension(full, ".accuracy.json"), null);
        }

        var name = Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar));
        var sameFolder = source.ModelFolder is not null && string.Equals(Path.GetFullPath(source.ModelFolder), full, StringComparison.Ordinal);
        var config = source.Config?.Clone() ?? new ModelConfig { Platform = ModelConfigValidator.Platform };
        config.Name = name;
        adjustConfig?.Invoke(config);
        if (sameFolder && !config.Input.Equals(source.Config!.Input))
        {
            throw new ModelToolException("This variant changes the model's inputs; write it to its own model folder, not as a new version of the source.");
        }
        var chosen = version ?? ModelSource.NumericVersions(full).DefaultIfEmpty(0).Max() + 1;
        var versionFolder = Path.Combine(full, chosen.ToString(CultureInfo.InvariantCulture));
        if (File.Exists(Path.Combine(versionFolder, ModelSource.ModelFileName)) && version is null)
        {
            throw new ModelToolException($"{versionFolder} already holds a model.");
        }
        var modelPath = Path.Combine(versionFolder, ModelSource.ModelFileName);
        OnnxModelFile.Save(model, modelPath);
        if (source.ModelFolder is not null && !sameFolder)
        {
            foreach (var file in Directory.EnumerateFiles(source.ModelFolder).Where(f => Path.GetFileName(f) != ModelSource.ConfigFileName))
            {
                File.Copy(file, Path.Combine(full, Path.GetFileName(file)), overwrite: true);
            }
        }
        var configPath = Path.Combine(full, ModelSource.ConfigFileName);
        AtomicFile.WriteAllText(configPath, PbtxtWriter.Write(config));
        return new ModelOutput(modelPath, Path.Combine(versionFolder, "accuracy.json"), configPath);
    }

    /// <summary>Prints the report and writes it as JSON to <see cref="ReportPath"/>.</summary>
    public void SaveReport(AccuracyReport report, TextWriter console)
    {
        report.Save(ReportPath);
        console.WriteLine(report);
        console.WriteLine($"wrote {ModelPath}{(ConfigPath is null ? "" : $" and {ConfigPath}")}; accuracy report {ReportPath}");
    }
}
