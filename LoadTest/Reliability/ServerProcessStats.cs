using System.Globalization;

namespace LoadTest.Reliability;

/// <summary>One reading of a process: resident memory (total, anonymous, file-backed), threads, open descriptors.</summary>
public sealed record ProcessSample(DateTime At, long RssBytes, long RssAnonBytes, long RssFileBytes, int Threads, int OpenFds)
{
    public double RssMiB => RssBytes / 1048576.0;
}

/// <summary>Reads <c>/proc/PID/status</c> (VmRSS, RssAnon, RssFile, Threads) and counts <c>/proc/PID/fd</c> of the
/// server process (Linux; same user, or the descriptors are not readable).</summary>
public sealed class ServerProcessStats(int pid)
{
    public int Pid { get; } = pid;

    /// <summary>True while the process exists and is not a zombie.</summary>
    public bool IsAlive
    {
        get
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{Pid}/stat");
                var close = stat.LastIndexOf(')');
                return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    /// <summary>A reading, or null when the process is gone or unreadable.</summary>
    public ProcessSample? Sample()
    {
        try
        {
            long rss = 0, anon = 0, file = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line);
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = Kilobytes(line);
                }
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                {
                    file = Kilobytes(line);
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
            }
            var fds = Directory.EnumerateFileSystemEntries($"/proc/{Pid}/fd").Count();
            return new ProcessSample(DateTime.UtcNow, rss, anon, file, threads, fds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static long Kilobytes(string line)
    {
        var value = line[(line.IndexOf(':') + 1)..].Trim();
        var space = value.IndexOf(' ');
        return long.Parse(space > 0 ? value[..space] : value, CultureInfo.InvariantCulture) * 1024;
    }
}
