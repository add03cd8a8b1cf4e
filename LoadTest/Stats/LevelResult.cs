using LoadTest.Model;

namespace LoadTest.Stats;

/// <summary>What was measured at one load level. <see cref="Mode"/> names what <see cref="Level"/> is:
/// <c>concurrency</c>, <c>request_rate</c> (requests/s) or <c>users</c> (scenario). Latency is of successful
/// requests, in microseconds; <see cref="Stable"/> is null for fixed-duration or fixed-count levels.</summary>
public sealed record LevelResult(string Mode, double Level, int BatchSize, double Seconds, long Successes,
    IReadOnlyDictionary<string, long> Errors, LatencySummary Latency, ServerBreakdown? Server, int Windows, bool? Stable,
    bool Interrupted = false)
{
    public long ErrorCount => Errors.Values.Sum();

    public double RequestsPerSecond => Seconds > 0 ? Successes / Seconds : 0;

    public double InferencesPerSecond => RequestsPerSecond * BatchSize;

    /// <summary>Open loop: the request rate asked for (the level); null for the closed loop and the scenario.</summary>
    public double? OfferedRequestsPerSecond => Mode == "request_rate" ? Level : null;

    /// <summary>Requests sent and completed per second, failed ones included, those never sent (over
    /// <c>--max-outstanding</c>) not: with <see cref="OfferedRequestsPerSecond"/>, whether the generator and server kept up.</summary>
    public double AchievedRequestsPerSecond =>
        Seconds > 0 ? (Successes + ErrorCount - Errors.GetValueOrDefault(Load.OpenLoopDriver.OutstandingExceeded)) / Seconds : 0;

    /// <summary>Failed requests over all completed requests (0 when none completed).</summary>
    public double ErrorRate => Successes + ErrorCount == 0 ? 0 : (double)ErrorCount / (Successes + ErrorCount);
}
