using System.Globalization;
using System.Text;

namespace LoadTest.Reliability;

/// <summary>One failed check: its name (stable, e.g. <c>http/utf8/id/c3-28</c>) and what was seen.</summary>
public sealed record CheckFailure(string Check, string Detail);

/// <summary>A check that could not run, and why.</summary>
public sealed record CheckSkip(string Check, string Reason);

/// <summary>
/// The outcome of one category: passed and failed checks, the failures (the first <see cref="MaxKeptFailures"/>
/// kept in full, the rest counted), skips with their reasons, and the key figures in the order they were added.
/// Thread-safe: concurrent checks may record into one report.
/// </summary>
public sealed class CategoryReport(string name)
{
    /// <summary>Failures kept with their details; more are only counted.</summary>
    public const int MaxKeptFailures = 500;

    private readonly object _lock = new();
    private readonly List<CheckFailure> _failures = [];
    private readonly List<CheckSkip> _skips = [];
    private readonly List<KeyValuePair<string, string>> _figures = [];
    private long _passed;
    private long _failed;

    public string Name { get; } = name;

    public long Passed => Interlocked.Read(ref _passed);

    public long Failed => Interlocked.Read(ref _failed);

    public long Total => Passed + Failed;

    public IReadOnlyList<CheckFailure> Failures
    {
        get
        {
            lock (_lock)
            {
                return [.. _failures];
            }
        }
    }

    public IReadOnlyList<CheckSkip> Skips
    {
        get
        {
            lock (_lock)
            {
                return [.. _skips];
            }
        }
    }

    public IReadOnlyList<KeyValuePair<string, string>> Figures
    {
        get
        {
            lock (_lock)
            {
                return [.. _figures];
            }
        }
    }

    public void Pass(long count = 1) => Interlocked.Add(ref _passed, count);

    public void Fail(string check, string detail)
    {
        Interlocked.Increment(ref _failed);
        lock (_lock)
        {
            if (_failures.Count < MaxKeptFailures)
            {
                _failures.Add(new CheckFailure(check, detail));
            }
        }
    }

    /// <summary>Records <paramref name="ok"/> as a pass, else a failure of <paramref name="check"/> with
    /// <paramref name="detail"/> (built only when needed).</summary>
    public bool Check(bool ok, string check, Func<string> detail)
    {
        if (ok)
        {
            Pass();
        }
        else
        {
            Fail(check, detail());
        }
        return ok;
    }

    public void Skip(string check, string reason)
    {
        lock (_lock)
        {
            _skips.Add(new CheckSkip(check, reason));
        }
    }

    /// <summary>Adds or replaces a key figure.</summary>
    public void Figure(string key, string value)
    {
        lock (_lock)
        {
            var at = _figures.FindIndex(f => f.Key == key);
            if (at >= 0)
            {
                _figures[at] = new(key, value);
            }
            else
            {
                _figures.Add(new(key, value));
            }
        }
    }

    public void Figure(string key, double value, string format = "F1") => Figure(key, value.ToString(format, CultureInfo.InvariantCulture));

    /// <summary><c>name: passed/total, key figures[; skipped: check (reason), ...]</c>.</summary>
    public string Line()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Name}: {Passed}/{Total}");
        foreach (var (key, value) in Figures)
        {
            sb.Append(CultureInfo.InvariantCulture, $", {key} {value}");
        }
        var skips = Skips;
        if (skips.Count > 0)
        {
            sb.Append("; skipped: ").AppendJoin(", ", skips.Select(s => $"{s.Check} ({s.Reason})"));
        }
        return sb.ToString();
    }
}
