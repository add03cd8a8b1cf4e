using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;
using LoadTest.Telemetry;

namespace LoadTest.Stats;

/// <summary>
/// Where the workers of one level record each completed request: latency of successes into an HdrHistogram
/// <see cref="Recorder"/> (wait-free for writers; <see cref="TakeWindow"/> swaps its interval histogram), failures
/// into per-status counters, and both into <see cref="LoadTestMetrics"/>. Thread-safe: many writers, one reader
/// (the level runner). Latencies are microseconds.
/// </summary>
public sealed class LevelRecorder
{
    private readonly Recorder _latency = HistogramFactory.With64BitBucketSize().WithValuesFrom(1).WithValuesUpTo(3_600_000_000L)
        .WithPrecisionOf(3).WithThreadSafeWrites().WithThreadSafeReads().Create();
    private readonly ConcurrentDictionary<string, StrongBox> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _errorsAtLastWindow = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _countReached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _stopAfter;
    private long _completed;
    private long _successes;
    private long _failures;
    private long _countedFrom;
    private volatile bool _measuring;

    /// <param name="stopAfter">Measured completions (successes and failures) after which <see cref="CountReached"/>
    /// completes; 0 for no limit.</param>
    public LevelRecorder(long stopAfter = 0) => _stopAfter = stopAfter;

    /// <summary>Completes when <c>stopAfter</c> requests completed since <see cref="StartMeasuring"/>.</summary>
    public Task CountReached => _countReached.Task;

    /// <summary>Successes recorded so far (warm-up included), for live progress.</summary>
    public long Successes => Interlocked.Read(ref _successes);

    /// <summary>Failures recorded so far (warm-up included), for live progress.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public void RecordSuccess(long startTimestamp)
    {
        var micros = (long)(Stopwatch.GetElapsedTime(startTimestamp).Ticks / 10.0);
        _latency.RecordValue(Math.Max(micros, 1));
        Interlocked.Increment(ref _successes);
        LoadTestMetrics.RecordSuccess(micros / 1e6);
        Completed();
    }

    public void RecordError(string status, long startTimestamp)
    {
        _errors.GetOrAdd(status, _ => new StrongBox()).Increment();
        Interlocked.Increment(ref _failures);
        LoadTestMetrics.RecordFailure(status, Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        Completed();
    }

    private void Completed()
    {
        var n = Interlocked.Increment(ref _completed);
        if (_measuring && _stopAfter > 0 && n - Interlocked.Read(ref _countedFrom) >= _stopAfter)
        {
            _countReached.TrySetResult();
        }
    }

    /// <summary>Ends the warm-up: discards what was recorded so far and starts counting towards <c>stopAfter</c>.</summary>
    public void StartMeasuring()
    {
        TakeWindow(0);
        Interlocked.Exchange(ref _countedFrom, Interlocked.Read(ref _completed));
        _measuring = true;
    }

    /// <summary>Closes the current window: the latencies and failures recorded since the previous call.</summary>
    public WindowSample TakeWindow(double seconds)
    {
        var histogram = _latency.GetIntervalHistogram();
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (status, box) in _errors)
        {
            var total = box.Value;
            var delta = total - _errorsAtLastWindow.GetValueOrDefault(status);
            _errorsAtLastWindow[status] = total;
            if (delta > 0)
            {
                errors[status] = delta;
            }
        }
        return new WindowSample(seconds, histogram, errors, null);
    }

    private sealed class StrongBox
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }
}
