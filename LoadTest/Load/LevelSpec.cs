namespace LoadTest.Load;

/// <summary>One level of a sweep: what the level is (<c>concurrency</c>, <c>request_rate</c>, <c>users</c>), its
/// value, the batch size per request and the driver that generates it.</summary>
public sealed record LevelSpec(string Mode, double Level, int BatchSize, Func<ILoadDriver> CreateDriver)
{
    public string Label => $"{Mode.Replace('_', ' ')} {Level:0.##}";
}
