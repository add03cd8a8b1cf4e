using LoadTest.Stats;

namespace LoadTest.Report;

/// <summary>Everything a run produced, as written to the CSV, JSON and HTML files.</summary>
public sealed record RunReport(RunInfo Info, IReadOnlyList<LevelResult> Levels, string? StoppedEarly, SloVerdict Verdict);

/// <summary>What was run, where: for the report's header and for comparing runs.</summary>
public sealed record RunInfo(string Target, string Protocol, string Model, string Mode, int BatchSize, string Inputs,
    string Measurement, string CommandLine, DateTimeOffset Started, string Machine)
{
    public static string DescribeMachine() =>
        $"{Environment.ProcessorCount} cores, {CpuModel()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
