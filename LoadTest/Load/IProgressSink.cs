using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Receives the run's progress as it happens (from the level runner's thread, one call at a time).</summary>
public interface IProgressSink
{
    void LevelStarted(LevelSpec level, LevelRecorder recorder);

    void WindowClosed(LevelSpec level, int index, WindowSample window);

    void LevelFinished(LevelSpec level, LevelResult result);

    void Note(string message);
}

/// <summary>Discards progress (tests, quiet runs).</summary>
public sealed class NoProgress : IProgressSink
{
    public static readonly NoProgress Instance = new();

    public void LevelStarted(LevelSpec level, LevelRecorder recorder)
    {
    }

    public void WindowClosed(LevelSpec level, int index, WindowSample window)
    {
    }

    public void LevelFinished(LevelSpec level, LevelResult result)
    {
    }

    public void Note(string message)
    {
    }
}
