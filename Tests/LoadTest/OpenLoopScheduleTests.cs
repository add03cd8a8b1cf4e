using System.Diagnostics;
using HdrHistogram;
using LoadTest.Clients;
using LoadTest.Load;
using LoadTest.Stats;

namespace Inference.Tests.LoadTest;

public sealed class OpenLoopScheduleTests
{
    [Fact]
    public void ConstantSchedule_IntendedTimesAreEvenlySpacedWithoutDrift()
    {
        var schedule = new ArrivalSchedule(rate: 300, poisson: false);

        var offsets = Enumerable.Range(0, 30_001).Select(_ => schedule.NextOffsetSeconds()).ToList();

        Assert.Equal(0, offsets[0]);
        Assert.Equal(1 / 300.0, offsets[1], 12);
        Assert.Equal(100.0, offsets[30_000], 9);
    }

    [Fact]
    public void PoissonSchedule_ManyDraws_HaveTheRateAndExponentialGaps()
    {
        const double rate = 500;
        var schedule = new ArrivalSchedule(rate, poisson: true, seed: 42);
        var offsets = Enumerable.Range(0, 200_001).Select(_ => schedule.NextOffsetSeconds()).ToList();
        var gaps = offsets.Zip(offsets.Skip(1), (a, b) => b - a).ToList();

        var observedRate = gaps.Count / offsets[^1];
        var mean = gaps.Average();
        var cv = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / gaps.Count) / mean;

        Assert.InRange(observedRate, rate * 0.99, rate * 1.01);
        Assert.InRange(cv, 0.98, 1.02);
        Assert.All(gaps, g => Assert.True(g >= 0));
        Assert.InRange(gaps.Count(g => g < Math.Log(2) / rate) / (double)gaps.Count, 0.49, 0.51);
    }

    [Fact]
    public void PoissonSchedule_SameSeed_SameIntendedTimes()
    {
        var a = new ArrivalSchedule(100, poisson: true, seed: 7);
        var b = new ArrivalSchedule(100, poisson: true, seed: 7);

        Assert.Equal(Enumerable.Range(0, 100).Select(_ => a.NextOffsetSeconds()), Enumerable.Range(0, 100).Select(_ => b.NextOffsetSeconds()));
    }

    [Fact]
    public async Task OpenLoop_StalledServer_KeepsSendingCountsOverflowAndMeasuresFromIntendedTime()
    {
        var client = new GateClient();
        var recorder = new LevelRecorder();
        recorder.StartMeasuring();
        using var stop = new CancellationTokenSource();
        var driver = new OpenLoopDriver(client, new ArrivalSchedule(1000, poisson: false), maxOutstanding: 4);

        var run = driver.RunAsync(recorder, stop.Token);
        await client.SentAtLeast(4).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var allSent = Stopwatch.GetTimestamp();
        var failuresBefore = (int)recorder.Failures;
        await client.Overflowed(recorder, failuresBefore + 20).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var sentWhileStalled = client.Sent;
        var stalled = Stopwatch.GetElapsedTime(allSent);
        client.Release();
        await client.Succeeded(recorder, 4).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        var window = recorder.TakeWindow(1);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(4, sentWhileStalled);
        Assert.True(window.Errors[OpenLoopDriver.OutstandingExceeded] >= 20);
        Assert.True(window.Successes >= 4);
        // The stalled requests were all intended before allSent and answered after the release: their latency covers the stall.
        Assert.True(window.Latency.GetMaxValue() >= stalled.TotalMicroseconds, $"{window.Latency.GetMaxValue()} us < stall {stalled.TotalMicroseconds} us");
    }

    /// <summary>A client whose requests all wait until <see cref="Release"/>: a server that stopped answering.</summary>
    private sealed class GateClient : IInferClient
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sent;

        public int Sent => Volatile.Read(ref _sent);

        public async Task<string?> InferAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _sent);
            await _gate.Task.WaitAsync(cancellationToken);
            return null;
        }

        public void Release() => _gate.TrySetResult();

        public async Task SentAtLeast(int count)
        {
            while (Sent < count)
            {
                await Task.Delay(1);
            }
        }

        public async Task Overflowed(LevelRecorder recorder, int failures)
        {
            while (recorder.Failures < failures)
            {
                await Task.Yield();
            }
        }

        public async Task Succeeded(LevelRecorder recorder, int count)
        {
            while (recorder.Successes < count)
            {
                await Task.Delay(1);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
