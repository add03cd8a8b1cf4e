using System.Globalization;

namespace LoadTest.Cli;

/// <summary>
/// Parses load levels: a comma-separated list whose items are single values (<c>8</c>) or ranges
/// <c>start:end[:step]</c>, where the step is added (<c>1:16:4</c> = 1, 5, 9, 13; default 1) or, written
/// <c>xF</c>, multiplied (<c>1:64:x2</c> = 1, 2, 4, ..., 64). The end is included when the steps reach it.
/// </summary>
public static class LevelRange
{
    public static IReadOnlyList<double> Parse(string text)
    {
        var levels = new List<double>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            if (parts.Length == 1)
            {
                levels.Add(Positive(parts[0], item));
                continue;
            }
            if (parts.Length > 3)
            {
                throw new FormatException($"'{item}': a range is start:end[:step]");
            }
            var start = Positive(parts[0], item);
            var end = Positive(parts[1], item);
            if (end < start)
            {
                throw new FormatException($"'{item}': end is below start");
            }
            var step = parts.Length == 3 ? parts[2] : "1";
            var multiply = step.StartsWith('x') || step.StartsWith('*');
            var by = Positive(multiply ? step[1..] : step, item);
            if (multiply && by <= 1)
            {
                throw new FormatException($"'{item}': a multiplying step must be above 1");
            }
            for (var v = start; v <= end * (1 + 1e-9); v = multiply ? v * by : v + by)
            {
                levels.Add(Math.Round(v, 6));
                if (levels.Count > 10_000)
                {
                    throw new FormatException($"'{item}' makes more than 10000 levels");
                }
            }
        }
        return levels.Count > 0 ? levels : throw new FormatException("no level given");
    }

    private static double Positive(string s, string item) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v)
            ? v
            : throw new FormatException($"'{item}': '{s}' is not a positive number");
}
