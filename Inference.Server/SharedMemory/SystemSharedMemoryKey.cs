using Inference.Server.Core;

namespace Inference.Server.SharedMemory;

/// <summary>
/// Turns a POSIX shared memory key (<c>/name</c>, as shm_open takes it) into its file under <c>/dev/shm</c>. Only a
/// plain name is accepted: one optional leading '/', then no '/', no "..", no NUL and not "." — so no key can name a
/// file outside <c>/dev/shm</c>, and the error never says what exists elsewhere.
/// </summary>
public static class SystemSharedMemoryKey
{
    /// <summary>Where Linux keeps POSIX shared memory objects.</summary>
    public const string Root = "/dev/shm";

    /// <summary>NAME_MAX: the longest file name.</summary>
    private const int MaxNameLength = 255;

    public static Result<string> ToPath(string key)
    {
        var name = key.StartsWith('/') ? key[1..] : key;
        if (name.Length == 0 || name.Length > MaxNameLength || name.Contains('/') || name.Contains("..", StringComparison.Ordinal)
            || name.Contains('\0') || name == ".")
        {
            return new InferenceError(ErrorCode.InvalidArgument,
                $"invalid shared memory key '{Printable(key)}': expected a POSIX shared memory name '/<name>' (at most {MaxNameLength} characters, no '/' after the first, no '..'), which names a file in {Root}");
        }
        return Path.Join(Root, name);
    }

    private static string Printable(string key) =>
        key.Length > 300 ? key[..300] + "..." : key.Replace("\0", "\\0", StringComparison.Ordinal);
}
