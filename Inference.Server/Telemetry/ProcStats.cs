using System.Globalization;

namespace Inference.Server.Telemetry;

/// <summary>The aggregate CPU times of <c>/proc/stat</c>'s first line, in clock ticks.</summary>
public readonly record struct CpuTimes(ulong User, ulong Nice, ulong System, ulong Idle, ulong IoWait, ulong Irq, ulong SoftIrq, ulong Steal)
{
    /// <summary>Ticks spent idle or waiting for I/O (Triton counts both as idle).</summary>
    public ulong IdleTicks => Idle + IoWait;

    /// <summary>Ticks spent doing work.</summary>
    public ulong BusyTicks => User + Nice + System + Irq + SoftIrq + Steal;

    /// <summary>The share of ticks spent busy between <paramref name="earlier"/> and this sample, 0..1, as Triton
    /// computes nv_cpu_utilization; null when no tick passed. Counters that went back (wrapped) count as 0.</summary>
    public double? UtilizationSince(CpuTimes earlier)
    {
        var busy = BusyTicks >= earlier.BusyTicks ? BusyTicks - earlier.BusyTicks : 0;
        var idle = IdleTicks >= earlier.IdleTicks ? IdleTicks - earlier.IdleTicks : 0;
        return busy + idle == 0 ? null : (double)busy / (busy + idle);
    }
}

/// <summary>
/// Readers of Linux's <c>/proc/stat</c> and <c>/proc/meminfo</c>, as Triton reads them for its CPU metrics. Parsing
/// never throws: text that is not in the expected form gives null.
/// </summary>
public static class ProcStats
{
    public const string StatPath = "/proc/stat";
    public const string MemInfoPath = "/proc/meminfo";

    /// <summary>The aggregate <c>cpu</c> line of /proc/stat text (the first line), or null.</summary>
    public static CpuTimes? ParseCpuTimes(string stat)
    {
        var line = stat.AsSpan();
        var end = line.IndexOf('\n');
        if (end >= 0)
        {
            line = line[..end];
        }
        var fields = line.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 9 || fields[0] != "cpu")
        {
            return null;
        }
        var values = new ulong[8];
        for (var i = 0; i < values.Length; i++)
        {
            if (!ulong.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
            {
                return null;
            }
        }
        return new CpuTimes(values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7]);
    }

    /// <summary>Total and used memory in bytes from /proc/meminfo text: used is MemTotal - MemAvailable, as Triton
    /// computes it; null when either is missing or available exceeds total.</summary>
    public static (ulong Total, ulong Used)? ParseMemory(string meminfo)
    {
        ulong? total = null, available = null;
        foreach (var line in meminfo.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }
            var key = line[..colon];
            if (key is not ("MemTotal" or "MemAvailable"))
            {
                continue;
            }
            var value = line[(colon + 1)..].Trim();
            var unit = 1UL;
            if (value.EndsWith(" kB", StringComparison.Ordinal))
            {
                value = value[..^3].TrimEnd();
                unit = 1024;
            }
            if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return null;
            }
            if (key == "MemTotal")
            {
                total = n * unit;
            }
            else
            {
                available = n * unit;
            }
        }
        return total is { } t && available is { } a && a <= t ? (t, t - a) : null;
    }

    /// <summary>Reads a /proc file, or null where it cannot be read (not Linux, say).</summary>
    public static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
