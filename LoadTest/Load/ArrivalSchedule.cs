namespace LoadTest.Load;

/// <summary>
/// Intended send times of an open loop at <see cref="Rate"/> requests per second: evenly spaced (constant) or with
/// exponential gaps (Poisson arrivals) from a seeded generator, so a schedule is reproducible. Offsets are seconds
/// from the start, accumulated without drift. Not thread-safe: one dispatcher draws from it.
/// </summary>
public sealed class ArrivalSchedule
{
    private readonly Random? _random;
    private long _index;
    private double _poissonOffset;

    public ArrivalSchedule(double rate, bool poisson, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        Rate = rate;
        _random = poisson ? new Random(seed) : null;
    }

    public double Rate { get; }

    public bool IsPoisson => _random is not null;

    /// <summary>The next intended send time, in seconds from the start of the schedule.</summary>
    public double NextOffsetSeconds()
    {
        if (_random is null)
        {
            return _index++ / Rate;
        }
        var offset = _poissonOffset;
        _poissonOffset += -Math.Log(1 - _random.NextDouble()) / Rate;
        return offset;
    }
}
