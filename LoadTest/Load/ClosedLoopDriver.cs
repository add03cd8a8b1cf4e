using System.Diagnostics;
using LoadTest.Clients;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Closed loop: <c>concurrency</c> workers, each sending a request and waiting for its answer before
/// sending the next (perf_analyzer's concurrency mode). Latency is from send to response.</summary>
public sealed class ClosedLoopDriver(IInferClient client, int concurrency) : ILoadDriver
{
    public Task RunAsync(LevelRecorder recorder, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => WorkerAsync(recorder, stop), CancellationToken.None)));

    private async Task WorkerAsync(LevelRecorder recorder, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await RequestExecution.SendAsync(client, recorder, Stopwatch.GetTimestamp(), stop).ConfigureAwait(false);
        }
    }
}
