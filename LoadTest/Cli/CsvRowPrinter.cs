using LoadTest.Load;
using LoadTest.Report;
using LoadTest.Stats;

namespace LoadTest.Cli;

/// <summary>Prints each finished level's CSV row to stdout as it completes, so the last line of stdout is always
/// the last level (scripts read it with <c>tail -1</c>).</summary>
public sealed class CsvRowPrinter(TextWriter stdout, IProgressSink inner) : IProgressSink
{
    public void LevelStarted(LevelSpec level, LevelRecorder recorder) => inner.LevelStarted(level, recorder);

    public void WindowClosed(LevelSpec level, int index, WindowSample window) => inner.WindowClosed(level, index, window);

    public void LevelFinished(LevelSpec level, LevelResult result)
    {
        inner.LevelFinished(level, result);
        stdout.WriteLine(CsvReport.Row(result));
        stdout.Flush();
    }

    public void Note(string message) => inner.Note(message);
}
