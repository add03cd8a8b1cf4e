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
/// Every file a model uses is confined to the repository (<see cref="RepositoryPaths"/>): model names are folder
/// names of the root (<see cref="CheckModelName"/>), and the model folder, its config, model, label and warmup files
/// must resolve, links followed, under the root's real path. Messages name files relative to the root, never by
/// absolute path, so that the callers of the load API learn nothing about the server's file system.
/// Failures come back as values. Reads the disk on every call (no caching); thread-safe.
/// </summary>
public sealed class ModelRepository(string rootPath, string? configName = null)
{
    public const string ConfigFileName = "config.pbtxt";

    /// <summary>The folder of a model that holds its named configs (<c>configs/&lt;name&gt;.pbtxt</c>).</summary>
    public const string ConfigsFolderName = "configs";
    public const string DefaultModelFileName = "model.onnx";
    public const string DefaultLabelFileName = "labels.txt";

    /// <summary>The folder of a model that holds the files its warmup samples name (<c>input_data_file</c>).</summary>
    public const string WarmupFolderName = "warmup";

    /// <summary>The longest model name, in characters (the usual file systems allow folder names of 255 bytes).</summary>
    public const int MaxModelNameLength = 255;

    public string RootPath { get; } = System.IO.Path.GetFullPath(rootPath);

    public bool Exists => Directory.Exists(RootPath);

    /// <summary>Triton's --model-config-name; null or empty: every model reads config.pbtxt.</summary>
    public string? ConfigName { get; } = string.IsNullOrEmpty(configName) ? null : configName;

    /// <summary>Model folder names, ordinal order; hidden folders (starting with '.') and folders whose name is not a
    /// valid model name (<see cref="CheckModelName"/>) are skipped. Empty when the root does not exist.</summary>
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
                .Where(n => CheckModelName(n) is null)
                .Order(StringComparer.Ordinal)];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>
    /// Null when <paramref name="name"/> can be a model of a repository: a folder name of the root, 1 to
    /// <see cref="MaxModelNameLength"/> characters, no '/', '\' or control character, not starting with '.'
    /// (so neither <c>.</c>, <c>..</c> nor a hidden folder). Else an <see cref="ErrorCode.InvalidArgument"/> error
    /// saying why, which quotes the name only when it is short and printable.
    /// </summary>
    public static InferenceError? CheckModelName(string name)
    {
        var why = name.Length == 0 ? "it is empty"
            : name.Length > MaxModelNameLength ? $"it has {name.Length} characters, more than {MaxModelNameLength}"
            : name.Any(char.IsControl) ? "it has a control character"
            : name.IndexOfAny(['/', '\\']) >= 0 ? "it has a '/' or '\\'"
            : name[0] == '.' ? "it starts with '.'"
            : null;
        if (why is null)
        {
            return null;
        }
        var quoted = name.Length is > 0 and <= MaxModelNameLength && !name.Any(char.IsControl) ? $"'{name}'" : "the name";
        return new InferenceError(ErrorCode.InvalidArgument, $"{quoted} is not a valid model name: {why}");
    }

    /// <summary>True when <paramref name="name"/> is a valid model name (<see cref="CheckModelName"/>) and the root
    /// has a folder of that name (or a link to one).</summary>
    public bool Contains(string name) => CheckModelName(name) is null && Directory.Exists(System.IO.Path.Combine(RootPath, name));

    /// <summary>Reads a model's folder: its config file (<see cref="ConfigPath"/>, parsed, not validated) unless
    /// <paramref name="configOverride"/> is given, and its version folders with their model files. The config's file
    /// names are checked (<see cref="ConfigFileNames"/>) before any is looked up.</summary>
    public Result<ModelFolder> ReadModel(string name, ModelConfig? configOverride = null)
    {
        if (CheckModelName(name) is { } invalid)
        {
            return invalid;
        }
        var path = System.IO.Path.Combine(RootPath, name);
        if (!Directory.Exists(path))
        {
            return new InferenceError(ErrorCode.NotFound, $"model '{name}' is not in the model repository");
        }
        var realRoot = RealRoot();
        if (!IsInside(path, realRoot))
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"model '{name}': its folder {OutsideMessage}");
        }
        var configPath = ConfigPath(path);
        var source = configOverride is null ? ForMessages(configPath) : $"config override of '{name}'";
        try
        {
            var config = configOverride;
            if (config is null)
            {
                if (!IsInside(configPath, realRoot))
                {
                    return new InferenceError(ErrorCode.InvalidArgument, $"{source}: {OutsideMessage}");
                }
                if (File.Exists(configPath))
                {
                    var parsed = PbtxtParser.ParseModelConfig(File.ReadAllText(configPath), source);
                    if (!parsed.IsSuccess)
                    {
                        return parsed.Error!;
                    }
                    config = parsed.Value;
                }
            }
            if (config is not null && ConfigFileNames.Validate(config, source) is { } badName)
            {
                return badName;
            }
            var fileName = string.IsNullOrEmpty(config?.DefaultModelFilename) ? DefaultModelFileName : config.DefaultModelFilename;
            var versions = new List<ModelVersionFolder>();
            foreach (var dir in Directory.EnumerateDirectories(path))
            {
                if (TryParseVersion(System.IO.Path.GetFileName(dir), out var version))
                {
                    versions.Add(ReadVersion(name, version, dir, fileName, realRoot));
                }
            }
            versions.Sort((a, b) => a.Version.CompareTo(b.Version));
            return new ModelFolder(name, path, config, configPath, source, versions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new InferenceError(ErrorCode.Internal, $"cannot read model '{name}': {WithoutRoot(e.Message)}");
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
    /// Labels of an output, one per line: the file named by its label_filename (a plain relative path inside the model
    /// folder; an error if it is missing), else the model folder's labels.txt if present, else null. Either must
    /// resolve, links followed, inside the repository.
    /// </summary>
    public Result<string[]?> ReadLabels(ModelFolder folder, ModelOutput output)
    {
        var named = output.LabelFilename.Length > 0;
        var label = named ? output.LabelFilename : DefaultLabelFileName;
        var what = $"label file '{label}' of output '{output.Name}' of model '{folder.Name}'";
        if (named && RepositoryPaths.CheckRelativeName(label) is { } why)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"{what} must be a relative path inside the model folder ({why})");
        }
        var file = System.IO.Path.Combine(folder.Path, label);
        if (!IsInside(file, RealRoot()))
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"{what} {OutsideMessage}");
        }
        if (!File.Exists(file))
        {
            return named
                ? new InferenceError(ErrorCode.InvalidArgument, $"{what} does not exist in '{ForMessages(folder.Path)}'")
                : new Result<string[]?>(null, null);
        }
        try
        {
            return File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new InferenceError(ErrorCode.Internal, $"cannot read {what}: {WithoutRoot(e.Message)}");
        }
    }

    /// <summary>The file a warmup sample of model <paramref name="model"/> names (<c>input_data_file</c>, relative to the
    /// model's <see cref="WarmupFolderName"/> folder): a plain relative path that exists and resolves inside the repository.</summary>
    public Result<string> ResolveWarmupFile(string model, string fileName)
    {
        if (CheckModelName(model) is { } invalid)
        {
            return invalid;
        }
        if (RepositoryPaths.CheckRelativeName(fileName) is { } why)
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"input_data_file '{fileName}' must be a relative path inside the model's warmup folder ({why})");
        }
        var file = System.IO.Path.Combine(RootPath, model, WarmupFolderName, fileName);
        if (!IsInside(file, RealRoot()))
        {
            return new InferenceError(ErrorCode.InvalidArgument, $"input_data_file '{fileName}' {OutsideMessage}");
        }
        return File.Exists(file) ? file : new InferenceError(ErrorCode.InvalidArgument, $"input_data_file '{ForMessages(file)}' does not exist");
    }

    /// <summary><paramref name="path"/> (under the root) as messages name it: relative to the root, '/'-separated.</summary>
    public string ForMessages(string path) => System.IO.Path.GetRelativePath(RootPath, path).Replace(System.IO.Path.DirectorySeparatorChar, '/');

    /// <summary><paramref name="message"/> with the root's absolute path cut from every path in it (so they read
    /// relative to the repository): for messages of other components (ONNX Runtime, I/O errors) that name files.</summary>
    public string WithoutRoot(string message)
    {
        var root = System.IO.Path.TrimEndingDirectorySeparator(RootPath);
        return root.Length <= 1 ? message : message.Replace(root + System.IO.Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
    }

    /// <summary>
    /// A cheap fingerprint of everything under a model folder (relative paths, sizes, last-write times; no file
    /// contents): equal strings mean nothing visible changed. Null when the folder does not exist.
    /// </summary>
    public string? Fingerprint(string name)
    {
        var path = System.IO.Path.Combine(RootPath, name);
        if (CheckModelName(name) is not null || !Directory.Exists(path))
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

    private const string OutsideMessage = "resolves outside the model repository";

    /// <summary>The root's real path (links followed); the root as given when it cannot be resolved.</summary>
    private string RealRoot() => RepositoryPaths.RealPath(RootPath) ?? RootPath;

    private static bool IsInside(string path, string realRoot) =>
        RepositoryPaths.RealPath(path) is { } real && RepositoryPaths.IsUnder(real, realRoot);

    private ModelVersionFolder ReadVersion(string model, long version, string dir, string fileName, string realRoot)
    {
        var file = System.IO.Path.Combine(dir, fileName);
        var outside = new ModelVersionFolder(version, dir, null, $"version {version} of model '{model}': model file '{fileName}' {OutsideMessage}");
        if (!IsInside(file, realRoot))
        {
            return outside;
        }
        if (File.Exists(file))
        {
            return new ModelVersionFolder(version, dir, file, null);
        }
        // Triton's onnxruntime backend also accepts a directory named like the model file holding model.onnx.
        var inner = System.IO.Path.Combine(file, DefaultModelFileName);
        if (Directory.Exists(file) && File.Exists(inner))
        {
            return IsInside(inner, realRoot) ? new ModelVersionFolder(version, dir, inner, null) : outside;
        }
        return new ModelVersionFolder(version, dir, null, $"version {version} of model '{model}' has no model file '{fileName}' in '{ForMessages(dir)}'");
    }
}
