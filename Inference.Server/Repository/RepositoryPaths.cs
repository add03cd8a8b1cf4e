namespace Inference.Server.Repository;

/// <summary>
/// The rules that keep every file a model uses inside its model repository, whoever wrote the name (a config
/// file on disk or a config override sent to the load API):
/// <list type="bullet">
/// <item>A file name a config gives (<c>default_model_filename</c>, <c>cc_model_filenames</c>, <c>label_filename</c>,
/// <c>input_data_file</c>) is a plain relative path, taken relative to its folder (version folder, model folder,
/// warmup folder): not rooted, no <c>..</c> segment, no control character (<see cref="CheckRelativeName"/>).</item>
/// <item>After every symbolic link on the way is followed (<see cref="RealPath"/>), the file's real path lies under
/// the real path of the repository root (<see cref="IsUnder"/>). Links within the repository are allowed (a version
/// sharing another's weights, Kubernetes ConfigMap's <c>..data</c> links, FUSE mounts); a link out of it is refused
/// whether or not its target exists, so the answer says nothing about the file system outside.</item>
/// </list>
/// Stateless; thread-safe.
/// </summary>
public static class RepositoryPaths
{
    /// <summary>Linux's limit on the links followed while resolving one path (MAXSYMLINKS).</summary>
    public const int MaxLinks = 40;

    private static readonly char[] Separators = ['/', '\\'];

    /// <summary>Null when <paramref name="name"/> is a plain relative path (see the class summary), else why not.
    /// Backslashes count as separators so that a <c>..\</c> segment is refused on every platform.</summary>
    public static string? CheckRelativeName(string name)
    {
        if (name.Length == 0)
        {
            return "it is empty";
        }
        if (name.Any(char.IsControl))
        {
            return "it has a control character";
        }
        if (Path.IsPathRooted(name) || name[0] is '/' or '\\')
        {
            return "it is rooted";
        }
        if (name.Split(Separators).Contains(".."))
        {
            return "it has a '..' segment";
        }
        return null;
    }

    /// <summary>
    /// The real path of the absolute path <paramref name="fullPath"/>: every symbolic link on the way is replaced
    /// by its target (relative targets against the link's folder), <c>.</c> and <c>..</c> are applied to the real
    /// folder reached so far, as the kernel does. Components that do not exist are kept as they are (nothing below
    /// them can be a link). Null when more than <see cref="MaxLinks"/> links are met (a loop).
    /// </summary>
    public static string? RealPath(string fullPath)
    {
        var current = Path.GetPathRoot(fullPath);
        if (string.IsNullOrEmpty(current))
        {
            throw new ArgumentException($"'{fullPath}' is not an absolute path", nameof(fullPath));
        }
        var pending = new Stack<string>();
        Push(pending, fullPath[current.Length..]);
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }
            var next = Path.Join(current, part);
            if (LinkTarget(next) is not { } target)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks)
            {
                return null;
            }
            if (Path.GetPathRoot(target) is { Length: > 0 } root)
            {
                current = root;
                target = target[root.Length..];
            }
            Push(pending, target);
        }
        return current;
    }

    /// <summary>True when <paramref name="realPath"/> lies strictly below the folder <paramref name="realRoot"/>
    /// (both real paths, as <see cref="RealPath"/> returns them).</summary>
    public static bool IsUnder(string realPath, string realRoot)
    {
        var prefix = Path.EndsInDirectorySeparator(realRoot) ? realRoot : realRoot + Path.DirectorySeparatorChar;
        return realPath.Length > prefix.Length && realPath.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>Pushes the components of <paramref name="relative"/> so that the first pops first.</summary>
    private static void Push(Stack<string> pending, string relative)
    {
        var parts = relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    /// <summary>The target a link holds, or null when <paramref name="path"/> is not a link (or not there, or not readable).</summary>
    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
