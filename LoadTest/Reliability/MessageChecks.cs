using System.Text.RegularExpressions;

namespace LoadTest.Reliability;

/// <summary>Checks on error messages: they must not reveal the server's file system.</summary>
public static partial class MessageChecks
{
    /// <summary>The first absolute file-system path in <paramref name="message"/> (<c>/a/b</c>, <c>C:\a</c>), or null.
    /// A path is a '/' that does not follow a letter, digit or dot, with at least two segments. Text the request itself
    /// carried (<paramref name="echoed"/>: a name, a file name it asked for) is taken out first: repeating the client's
    /// own words reveals nothing.</summary>
    public static string? AbsolutePath(string? message, params string[] echoed)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }
        foreach (var e in echoed.Where(e => e.Length > 0).OrderByDescending(e => e.Length))
        {
            message = message.Replace(e, " ", StringComparison.Ordinal);
        }
        var m = UnixPath().Match(message);
        if (m.Success)
        {
            return m.Value;
        }
        m = WindowsPath().Match(message);
        return m.Success ? m.Value : null;
    }

    /// <summary><paramref name="message"/> with every occurrence of the given strings replaced by <c>&lt;X&gt;</c>: two
    /// answers that differ only there are the same answer.</summary>
    public static string Normalize(string message, params string[] variable)
    {
        foreach (var v in variable.Where(v => v.Length > 0).OrderByDescending(v => v.Length))
        {
            message = message.Replace(v, "<X>", StringComparison.Ordinal);
        }
        return message;
    }

    [GeneratedRegex(@"(?<![\w.])/(?:[^\s'""/,;:()\[\]]+/)+[^\s'"",;:()\[\]]*")]
    private static partial Regex UnixPath();

    [GeneratedRegex(@"\b[A-Za-z]:\\[^\s'""]+")]
    private static partial Regex WindowsPath();
}
