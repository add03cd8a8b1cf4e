using System.Globalization;
using Inference.Server.Core;
using Inference.Server.Protos;

namespace Inference.Server.Repository;

/// <summary>
/// The model folders written from the files of load requests (Triton's model file override). They live in a
/// folder the server owns, never in the model repository: a temporary folder created at the first such load
/// (<see cref="Directory.CreateTempSubdirectory"/>, mode 0700, under <c>$TMPDIR</c> or <c>/tmp</c>) and deleted
/// with the store. Each load writes a fresh folder <c>&lt;root&gt;/&lt;n&gt;/&lt;model&gt;/</c>, served as a
/// one-model repository rooted at <c>&lt;root&gt;/&lt;n&gt;</c> (so every rule of <see cref="ModelRepository"/>
/// holds there and messages name files as <c>&lt;model&gt;/1/model.onnx</c>), holding <c>config.pbtxt</c> written
/// from the config override and each file at its relative path. Every path is checked
/// (<see cref="CheckPath"/>) and, once joined, must resolve inside the model folder; files are created new, so a path
/// given twice or one that collides with a folder of another file is refused, and nothing is written through a link.
/// All folders together hold at most <see cref="MaxBytes"/> (file contents plus configs). The caller
/// (<see cref="ModelManager"/>) owns each <see cref="WrittenModel"/> and deletes it once nothing serves from it.
/// Thread-safe.
/// </summary>
public sealed class ModelFileStore(long maxBytes) : IDisposable
{
    /// <summary>The prefix of the folder created under the system's temporary folder.</summary>
    public const string FolderPrefix = "aspire-inference-model-files-";

    private readonly Lock _lock = new();
    private string? _root;
    private long _heldBytes;
    private long _nextFolder;
    private bool _disposed;

    /// <summary>The most bytes all written folders may hold together.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>The server-owned folder holding every written model; null until the first load with files.</summary>
    public string? RootPath
    {
        get
        {
            lock (_lock)
            {
                return _root;
            }
        }
    }

    /// <summary>Bytes the written folders hold now.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                return _heldBytes;
            }
        }
    }

    /// <summary>Null when <paramref name="path"/> (a <c>file:</c> parameter without its prefix) is a plain relative
    /// path inside a model folder: not empty, '/'-separated, not rooted, no backslash or control character, no
    /// empty, <c>.</c> or <c>..</c> segment, and not the <c>config.pbtxt</c> that the config override becomes. Else why not.</summary>
    public static string? CheckPath(string path)
    {
        if (path.Length == 0)
        {
            return "the path is empty";
        }
        if (path.Contains('\\') || path.Any(char.IsControl))
        {
            return "the path must use '/' and hold no control character";
        }
        if (path.StartsWith('/'))
        {
            return "the path must be relative to the model folder";
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                return "the path must stay inside the model folder (no empty, '.' or '..' segment)";
            }
        }
        if (path == ModelRepository.ConfigFileName)
        {
            return $"the model's {ModelRepository.ConfigFileName} is written from the 'config' parameter";
        }
        return null;
    }

    /// <summary>
    /// Writes the folder of <paramref name="model"/> (a valid model name) from <paramref name="config"/> and
    /// <paramref name="files"/>. On success the caller owns the result and hands it back to <see cref="Delete"/>; on
    /// failure nothing stays on disk and the error (<see cref="ErrorCode.InvalidArgument"/>, as Triton answers every
    /// failed load, also when the disk fails) names no absolute path.
    /// </summary>
    public Result<WrittenModel> Write(string model, ModelConfig config, IReadOnlyList<ModelFile> files)
    {
        foreach (var file in files)
        {
            if (CheckPath(file.Path) is { } why)
            {
                return Invalid(model, $"file parameter 'file:{file.Path}': {why}");
            }
        }
        var configText = PbtxtWriter.Write(config);
        var bytes = System.Text.Encoding.UTF8.GetByteCount(configText) + files.Sum(f => (long)f.Content.Length);
        string root;
        long folderNumber;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_heldBytes + bytes > MaxBytes)
            {
                return Invalid(model, $"its files and config ({bytes} bytes) would bring the models loaded from files to " +
                    $"{_heldBytes + bytes} bytes, over the server's limit of {MaxBytes} bytes (--max-model-files-bytes); unload some first");
            }
            // Its real path (links followed, as when /tmp is one), so that every path derived from it, and every
            // message cut by it, is the one the kernel reports.
            _root ??= RealFolder(Directory.CreateTempSubdirectory(FolderPrefix).FullName);
            _heldBytes += bytes;
            root = _root;
            folderNumber = ++_nextFolder;
        }
        var repositoryRoot = Path.Combine(root, folderNumber.ToString(CultureInfo.InvariantCulture));
        var written = new WrittenModel(new ModelRepository(repositoryRoot), bytes);
        var error = WriteFolder(model, Path.Combine(repositoryRoot, model), configText, files, root);
        if (error is not null)
        {
            Delete(written);
            return error;
        }
        return written;
    }

    /// <summary>Deletes a folder <see cref="Write"/> returned and releases its bytes; idempotent. The caller has
    /// stopped every model version that read from it.</summary>
    public void Delete(WrittenModel written)
    {
        lock (_lock)
        {
            if (written.Deleted)
            {
                return;
            }
            written.Deleted = true;
            _heldBytes -= written.Bytes;
        }
        try
        {
            Directory.Delete(written.Repository.RootPath, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or the server's temporary folder was tampered with: the store's Dispose tries again.
        }
    }

    /// <summary>Deletes the server-owned folder with everything in it; later writes throw.</summary>
    public void Dispose()
    {
        string? root;
        lock (_lock)
        {
            _disposed = true;
            root = _root;
            _root = null;
        }
        try
        {
            if (root is not null)
            {
                Directory.Delete(root, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort at shutdown: the folder is in the system's temporary folder.
        }
    }

    private static InferenceError? WriteFolder(string model, string folder, string configText, IReadOnlyList<ModelFile> files, string root)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var realFolder = RepositoryPaths.RealPath(folder);
            if (realFolder is null)
            {
                return Invalid(model, "the server's folder for model files cannot be resolved");
            }
            File.WriteAllText(Path.Combine(folder, ModelRepository.ConfigFileName), configText);
            foreach (var file in files)
            {
                var target = Path.Combine(folder, file.Path);
                if (RepositoryPaths.RealPath(target) is not { } real || !RepositoryPaths.IsUnder(real, realFolder))
                {
                    return Invalid(model, $"file parameter 'file:{file.Path}': the path must stay inside the model folder");
                }
                if (Path.GetDirectoryName(real) is { } parent && File.Exists(parent))
                {
                    return Invalid(model, $"file parameter 'file:{file.Path}': its folder is a file of the same request");
                }
                Directory.CreateDirectory(Path.GetDirectoryName(real)!);
                if (Directory.Exists(real))
                {
                    return Invalid(model, $"file parameter 'file:{file.Path}': it is a folder of another file of the same request");
                }
                if (File.Exists(real))
                {
                    return Invalid(model, $"file parameter 'file:{file.Path}': the path is given twice");
                }
                // CreateNew: never through a link, never over a file (a JSON object may repeat a key; checked above).
                using var stream = new FileStream(real, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                stream.Write(file.Content.Span);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // I/O messages name paths: cut the server's folders from them (what remains is relative to the model folder).
            var message = e.Message.Replace(folder + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
                .Replace(root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
            return Invalid(model, $"cannot write its files: {message}");
        }
    }

    private static string RealFolder(string path) => RepositoryPaths.RealPath(path) ?? path;

    private static InferenceError Invalid(string model, string why) => new(ErrorCode.InvalidArgument, $"failed to load '{model}': {why}");
}
