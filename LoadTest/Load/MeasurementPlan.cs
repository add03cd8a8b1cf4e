using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>
/// How each level is measured after <see cref="Warmup"/>: in windows of <see cref="Window"/>, until
/// <see cref="Duration"/> has passed or <see cref="RequestCount"/> requests completed (whichever first; the level
/// result merges all windows), or, when neither is set, until <see cref="Stability"/> holds (the result merges the
/// last windows the rule looked at) or <see cref="MaxWindows"/> windows were measured (reported unstable).
/// </summary>
public sealed record MeasurementPlan(TimeSpan Warmup, TimeSpan Window, TimeSpan? Duration = null, long RequestCount = 0,
    StabilityRule? Stability = null, int MaxWindows = 10)
{
    public bool IsFixed => Duration is not null || RequestCount > 0;

    public StabilityRule Rule => Stability ?? new StabilityRule();
}
