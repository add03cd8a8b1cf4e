using System.Diagnostics;
using System.Globalization;
using LoadTest.Load;
using LoadTest.Stats;

namespace LoadTest.Report;

/// <summary>
/// Progress on a text writer (stderr, so stdout stays the CSV): with <c>live</c> (a terminal), one status line
/// rewritten twice a second with the level, elapsed time, current rate, the last window's p50/p99 and errors;
/// otherwise one plain line per measurement window. A summary line per finished level either way.
/// Thread-safe (the ticker and the level runner share one lock).
/// </summary>
public sealed class ConsoleProgress : IProgressSink, IDisposable
{
    private readonly TextWriter _out;
    private readonly bool _live;
    private readonly Lock _lock = new();
    private readonly Timer? _ticker;
    private LevelSpec? _level;
    private LevelRecorder? _recorder;
    private long _levelStart;
    private long _lastTick;
    private long _lastCount;
    private string _latency = "";

    public ConsoleProgress(TextWriter output, bool live)
    {
        _out = output;
        _live = live;
        _ticker = live ? new Timer(_ => Tick(), null, 500, 500) : null;
    }

    public void LevelStarted(LevelSpec level, LevelRecorder recorder)
    {
        lock (_lock)
        {
            _level = level;
            _recorder = recorder;
            _levelStart = _lastTick = Stopwatch.GetTimestamp();
            _lastCount = 0;
            _latency = "warming up";
            if (!_live)
            {
                _out.WriteLine($"[{level.Label}] warming up");
            }
        }
    }

    public void WindowClosed(LevelSpec level, int index, WindowSample window)
    {
        lock (_lock)
        {
            _latency = string.Create(CultureInfo.InvariantCulture,
                $"p50 {Ms(window.Latency.TotalCount == 0 ? 0 : window.Latency.GetValueAtPercentile(50))} p99 {Ms(window.P99Us)}");
            if (!_live)
            {
                _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{level.Label}] window {index}: {window.Throughput:F1} req/s, {_latency}, errors {window.ErrorCount}"));
            }
        }
    }

    public void LevelFinished(LevelSpec level, LevelResult result)
    {
        lock (_lock)
        {
            _level = null;
            Clear();
            var l = result.Latency;
            _out.WriteLine(FormattableString.Invariant(
                $"[{level.Label}] {result.InferencesPerSecond:F1} infer/s, {result.RequestsPerSecond:F1} req/s, p50 {Ms(l.P50Us)} p90 {Ms(l.P90Us)} p95 {Ms(l.P95Us)} p99 {Ms(l.P99Us)} max {Ms(l.MaxUs)}, errors {result.ErrorCount}") +
                (result.Stable == false ? " (not stable)" : "") +
                (result.Server is { } s ? FormattableString.Invariant($" | server: queue {s.QueueUs:F0} us, compute in/infer/out {s.ComputeInputUs:F0}/{s.ComputeInferUs:F0}/{s.ComputeOutputUs:F0} us, batch {s.AverageBatchSize:F2}") : ""));
            foreach (var (status, n) in result.Errors)
            {
                _out.WriteLine($"[{level.Label}]   errors {status}: {n}");
            }
        }
    }

    public void Note(string message)
    {
        lock (_lock)
        {
            Clear();
            _out.WriteLine(message);
        }
    }

    private void Tick()
    {
        lock (_lock)
        {
            if (_level is null || _recorder is null)
            {
                return;
            }
            var now = Stopwatch.GetTimestamp();
            var count = _recorder.Successes;
            var rate = (count - _lastCount) / Math.Max(Stopwatch.GetElapsedTime(_lastTick, now).TotalSeconds, 1e-3);
            (_lastTick, _lastCount) = (now, count);
            _out.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r\u001b[2K[{_level.Label}] {Stopwatch.GetElapsedTime(_levelStart, now).TotalSeconds:F0}s  {rate:F0} req/s  {_latency}  errors {_recorder.Failures}"));
            _out.Flush();
        }
    }

    private void Clear()
    {
        if (_live)
        {
            _out.Write("\r\u001b[2K");
        }
    }

    private static string Ms(double micros) => (micros / 1000).ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    public void Dispose() => _ticker?.Dispose();
}
