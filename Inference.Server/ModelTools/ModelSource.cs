using System.Globalization;
using Inference.Server.Protos;
using Inference.Server.Repository;

namespace Inference.Server.ModelTools;

/// <summary>The model a tool reads: an .onnx file, a version folder holding model.onnx, or a Triton model folder
/// (its highest numeric version's model.onnx). <see cref="ModelFolder"/> and <see cref="Config"/> are set when the
/// file sits in a model folder that has a config.pbtxt.</summary>
public sealed record ModelSource(string ModelPath, string? ModelFolder, ModelConfig? Config)
{
    public const string ModelFileName = "model.onnx";

    public const string ConfigFileName = "config.pbtxt";

    public static ModelSource Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        string modelPath;
        if (File.Exists(full))
        {
            modelPath = full;
        }
        else if (File.Exists(Path.Combine(full, ModelFileName)))
        {
            modelPath = Path.Combine(full, ModelFileName);
        }
        else if (Directory.Exists(full))
        {
            var latest = NumericVersions(full).Where(v => File.Exists(Path.Combine(full, v.ToString(CultureInfo.InvariantCulture), ModelFileName)))
                .DefaultIfEmpty(-1).Max();
            if (latest < 0)
            {
                throw new ModelToolException($"'{path}' is a folder without model.onnx in it or in a numeric version folder.");
            }
            modelPath = Path.Combine(full, latest.ToString(CultureInfo.InvariantCulture), ModelFileName);
        }
        else
        {
            throw new ModelToolException($"Model '{path}' does not exist.");
        }

        var versionFolder = Path.GetDirectoryName(modelPath)!;
        var modelFolder = Path.GetDirectoryName(versionFolder);
        if (modelFolder is not null && long.TryParse(Path.GetFileName(versionFolder), NumberStyles.None, CultureInfo.InvariantCulture, out _) &&
            File.Exists(Path.Combine(modelFolder, ConfigFileName)))
        {
            var configPath = Path.Combine(modelFolder, ConfigFileName);
            var parsed = PbtxtParser.ParseModelConfig(File.ReadAllText(configPath), configPath);
            if (!parsed.IsSuccess)
            {
                throw new ModelToolException($"{configPath}: {parsed.Error!.Message}");
            }
            return new ModelSource(modelPath, modelFolder, parsed.Value);
        }
        return new ModelSource(modelPath, null, null);
    }

    /// <summary>The numeric version folder names of <paramref name="modelFolder"/>.</summary>
    public static IEnumerable<long> NumericVersions(string modelFolder) =>
        Directory.Exists(modelFolder)
            ? Directory.EnumerateDirectories(modelFolder)
                .Select(d => long.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
                .Where(v => v >= 0)
            : [];
}
