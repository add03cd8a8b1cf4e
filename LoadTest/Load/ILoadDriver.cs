using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Generates load for one level until stopped, recording every completed request into the recorder.</summary>
public interface ILoadDriver
{
    /// <summary>Runs until <paramref name="stop"/> fires, then cancels what is in flight and returns; requests cut
    /// short this way are not recorded.</summary>
    Task RunAsync(LevelRecorder recorder, CancellationToken stop);
}
