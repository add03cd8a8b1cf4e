using System.Diagnostics;
using LoadTest.Clients;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>
/// Open loop: requests leave at the <see cref="ArrivalSchedule"/>'s intended times whether or not earlier ones were
/// answered, and each latency is measured from its intended send time, so a stalled server shows its queueing in
/// the numbers instead of slowing the client down (no coordinated omission). A dedicated dispatcher thread sleeps
/// until about 1 ms before a send time and yields the CPU for the rest; any lateness of the client itself is counted
/// in the latency too. At most <c>maxOutstanding</c> requests are in flight: a send time that finds that many still
/// outstanding is not sent and is counted as the error <c>max-outstanding-exceeded</c>.
/// </summary>
public sealed class OpenLoopDriver(IInferClient client, ArrivalSchedule schedule, int maxOutstanding) : ILoadDriver
{
    public const string OutstandingExceeded = "max-outstanding-exceeded";
    private int _outstanding;

    public async Task RunAsync(LevelRecorder recorder, CancellationToken stop)
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new Thread(() => Dispatch(recorder, stop, inFlight)) { IsBackground = true, Name = "open-loop dispatcher" };
        dispatcher.Start();
        await inFlight.Task.ConfigureAwait(false);
    }

    private void Dispatch(LevelRecorder recorder, CancellationToken stop, TaskCompletionSource done)
    {
        var start = Stopwatch.GetTimestamp();
        var pending = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            var intended = start + (long)(schedule.NextOffsetSeconds() * Stopwatch.Frequency);
            while (!stop.IsCancellationRequested)
            {
                var wait = intended - Stopwatch.GetTimestamp();
                if (wait <= 0)
                {
                    break;
                }
                if (wait > Stopwatch.Frequency / 667)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    Thread.Yield();
                }
            }
            if (stop.IsCancellationRequested)
            {
                break;
            }
            if (Interlocked.Increment(ref _outstanding) > maxOutstanding)
            {
                Interlocked.Decrement(ref _outstanding);
                recorder.RecordError(OutstandingExceeded, intended);
                continue;
            }
            pending.Add(SendAsync(recorder, intended, stop));
            if (pending.Count > Math.Max(4096, 2 * maxOutstanding))
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
        }
        Task.WhenAll(pending).ContinueWith(_ => done.TrySetResult(), TaskScheduler.Default);
    }

    private async Task SendAsync(LevelRecorder recorder, long intended, CancellationToken stop)
    {
        try
        {
            await Task.Yield();
            await RequestExecution.SendAsync(client, recorder, intended, stop).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }
}
