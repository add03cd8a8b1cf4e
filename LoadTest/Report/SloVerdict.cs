using System.Globalization;
using LoadTest.Stats;

namespace LoadTest.Report;

/// <summary>Pass/fail of a run against the command line's objectives: every level's error rate at most
/// <c>maxErrorRate</c> (a fraction; 0 means no error allowed), every level's p99 at most <c>maxP99Ms</c> when given,
/// and at least one successful request per level. <see cref="Failures"/> says which.</summary>
public sealed record SloVerdict(IReadOnlyList<string> Failures)
{
    public bool Passed => Failures.Count == 0;

    public static SloVerdict Evaluate(IReadOnlyList<LevelResult> levels, double maxErrorRate, double? maxP99Ms)
    {
        var failures = new List<string>();
        if (levels.Count == 0)
        {
            failures.Add("no level was measured");
        }
        foreach (var l in levels)
        {
            var label = string.Create(CultureInfo.InvariantCulture, $"{l.Mode} {l.Level:0.##}");
            if (l.Successes == 0)
            {
                failures.Add($"{label}: no successful request");
            }
            if (l.ErrorRate > maxErrorRate)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{label}: error rate {l.ErrorRate:P2} > {maxErrorRate:P2} ({string.Join(", ", l.Errors.Select(e => $"{e.Key}: {e.Value}"))})"));
            }
            if (maxP99Ms is { } slo && l.Latency.P99Us > slo * 1000)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: p99 {l.Latency.P99Us / 1000:0.###} ms > {slo} ms"));
            }
        }
        return new SloVerdict(failures);
    }
}
