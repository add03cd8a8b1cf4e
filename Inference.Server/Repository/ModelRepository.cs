using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// A Triton model repository on the local file system: <c>&lt;root&gt;/&lt;model&gt;/config.pbtxt</c> (optional)
/// and <c>&lt;root&gt;/&lt;model&gt;/&lt;version&gt;/model.onnx</c> (or the config's default_model_filename).
/// Version folders must be named by a positive number without leading zeros; others are ignored, as in Triton.
/// With a <paramref name="configName"/> (Triton's --model-config-name), a model's config is
/// <c>&lt;model&gt;/configs/&lt;configName&gt;.pbtxt</c> when that file exists, else config.pbtxt, as in Triton.
/// Failures come back as values. Reads the disk on every call (no caching); thread-safe.
/// </summary>
public sealed class ModelRepository(string rootPath, string? configName = null)
{
    public const string ConfigFileName = "config.pbtxt";

    /// <summary>The folder of a model that holds its named configs (<c>configs/&lt;name&gt;.pbtxt</c>).</summary>
    public const string ConfigsFolderName = "configs";
    public const string DefaultModelFileName = "model.onnx";
    public const string DefaultLabelFileName = "labels.txt";

    public string RootPath { get; } = System.IO.Path.GetFullPath(rootPath);

    public bool Exists => Directory.Exists(RootPath);

    /// <summary>Triton's --model-config-name; null or empty: every model reads config.pbtxt.</summary>
    public string? ConfigName { get; } = string.IsNullOrEmpty(configName) ? null : configName;

    /// <summary>Model folder names, ordinal order; hidden folders (starting with '.') are skipped. Empty when
    /// the root does not exist.</summary>
    public IReadOnlyList<string> ListModelNames()
    {
        if (!Exists)
        {
            return [];
        }
        try
        {
            return [.. Directory.EnumerateDirectories(RootPath)
                .Select(System.IO.Path.GetFileName)
                .OfType<string>()
                .Where(n => !n.StartsWith('.'))
                .Order(StringComparer.Ordinal)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>Reads a model's folder: its config file (<see cref="ConfigPath"/>, parsed, not validated) unless
    /// <paramref name="configOverride"/> is given, and its version folders with their model files.</summary>
    public Result<ModelFolder> ReadModel(string name, ModelConfig? configOverride = null)
    {
        if (ModelPath(name) is not { } path)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"'{name}' is not a valid model name");
        }
        if (!Directory.Exists(path))
        {
            return new InferenceError(ErrorCode.NotFound, $"model '{name}' is not in the model repository '{RootPath}'");
        }
        var configPath = ConfigPath(path);
        try
        {
            var config = configOverride;
            if (config is null && File.Exists(configPath))
            {
                var parsed = PbtxtParser.ParseModelConfig(File.ReadAllText(configPath), configPath);
                if (!parsed.IsSuccess)
                {
                    return parsed.Error!;
                }
                config = parsed.Value;
            }
            var fileName = string.IsNullOrEmpty(config?.DefaultModelFilename) ? DefaultModelFileName : config.DefaultModelFilename;
            var versions = new List<ModelVersionFolder>();
            foreach (var dir in Directory.EnumerateDirectories(path))
            {
                if (TryParseVersion(System.IO.Path.GetFileName(dir), out var version))
                {
                    versions.Add(ReadVersion(name, version, dir, fileName));
                }
            }
            versions.Sort((a, b) => a.Version.CompareTo(b.Version));
            return new ModelFolder(name, path, config, configPath, versions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new InferenceError(ErrorCode.Internal, $"cannot read model '{name}' in '{path}': {e.Message}");
        }
    }

    /// <summary>The config file of the model folder <paramref name="modelPath"/>: configs/&lt;<see cref="ConfigName"/>&gt;.pbtxt
    /// when a config name is set and that file exists, else config.pbtxt (which may not exist either).</summary>
    public string ConfigPath(string modelPath)
    {
        if (ConfigName is not null)
        {
            var named = System.IO.Path.Combine(modelPath, ConfigsFolderName, ConfigName + ".pbtxt");
            if (File.Exists(named))
            {
                return named;
            }
        }
        return System.IO.Path.Combine(modelPath, ConfigFileName);
    }

    /// <summary>The version folders the policy selects, ascending, including invalid ones (their Error says why)
    /// and, for a specific policy, an error entry for each listed version that has no folder.</summary>
    public static IReadOnlyList<ModelVersionFolder> SelectVersions(ModelFolder folder, ModelVersionPolicy? policy)
    {
        var selected = VersionPolicySelector.Select(policy, folder.Versions.Select(v => v.Version), out var missing);
        var result = folder.Versions.Where(v => selected.Contains(v.Version)).ToList();
        foreach (var v in missing)
        {
            result.Add(new ModelVersionFolder(v, System.IO.Path.Combine(folder.Path, v.ToString(CultureInfo.InvariantCulture)), null,
                $"version {v} of model '{folder.Name}' is listed by the version policy but its folder does not exist"));
        }
        result.Sort((a, b) => a.Version.CompareTo(b.Version));
        return result;
    }

    /// <summary>
    /// Labels of an output, one per line: the file named by its label_filename (relative to the model folder;
    /// an error if it is missing or outside the folder), else the model folder's labels.txt if present, else null.
    /// </summary>
    public static Result<string[]?> ReadLabels(ModelFolder folder, ModelOutput output)
    {
        string file;
        if (output.LabelFilename.Length > 0)
        {
            file = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder.Path, output.LabelFilename));
            if (!file.StartsWith(folder.Path + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"label_filename '{output.LabelFilename}' of output '{output.Name}' of model '{folder.Name}' is outside the model folder");
            }
            if (!File.Exists(file))
            {
                return new InferenceError(ErrorCode.InvalidArgument,
                    $"label file '{output.LabelFilename}' of output '{output.Name}' of model '{folder.Name}' does not exist in '{folder.Path}'");
            }
        }
        else
        {
            file = System.IO.Path.Combine(folder.Path, DefaultLabelFileName);
            if (!File.Exists(file))
            {
                return new Result<string[]?>(null, null);
            }
        }
        try
        {
            return File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new InferenceError(ErrorCode.Internal, $"cannot read label file '{file}': {e.Message}");
        }
    }

    /// <summary>
    /// A cheap fingerprint of everything under a model folder (relative paths, sizes, last-write times; no file
    /// contents): equal strings mean nothing visible changed. Null when the folder does not exist.
    /// </summary>
    public string? Fingerprint(string name)
    {
        if (ModelPath(name) is not { } path || !Directory.Exists(path))
        {
            return null;
        }
        try
        {
            var entries = new List<string>();
            foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                entries.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{System.IO.Path.GetRelativePath(path, file.FullName)}|{file.Length}|{file.LastWriteTimeUtc.Ticks}"));
            }
            entries.Sort(StringComparer.Ordinal);
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', entries))));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder changed under us (or is unreadable): report "different" rather than fail.
            return "unreadable:" + e.GetType().Name;
        }
    }

    /// <summary>True for Triton version folder names: digits only, no leading zero.</summary>
    public static bool TryParseVersion(string? folderName, out long version)
    {
        version = 0;
        if (string.IsNullOrEmpty(folderName) || folderName[0] == '0' || !folderName.All(char.IsAsciiDigit))
        {
            return false;
        }
        return long.TryParse(folderName, NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    private string? ModelPath(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.IndexOfAny(['/', '\\', '\0']) >= 0)
        {
            return null;
        }
        return System.IO.Path.Combine(RootPath, name);
    }

    private static ModelVersionFolder ReadVersion(string model, long version, string dir, string fileName)
    {
        var file = System.IO.Path.Combine(dir, fileName);
        if (File.Exists(file))
        {
            return new ModelVersionFolder(version, dir, file, null);
        }
        // Triton's onnxruntime backend also accepts a directory named like the model file holding model.onnx.
        var inner = System.IO.Path.Combine(file, DefaultModelFileName);
        if (Directory.Exists(file) && File.Exists(inner))
        {
            return new ModelVersionFolder(version, dir, inner, null);
        }
        return new ModelVersionFolder(version, dir, null, $"version {version} of model '{model}' has no model file '{fileName}' in '{dir}'");
    }
}
