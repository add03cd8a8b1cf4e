using System.Diagnostics;
using LoadTest.Clients;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>
/// Locust's model, as the seed's load test ran it: <c>users</c> simulated users started at <c>spawnRate</c> users per
/// second; each sends a request, waits for the answer, then thinks for a uniformly drawn time in
/// [<c>thinkMin</c>, <c>thinkMax</c>] seconds before the next. Latency is from send to response.
/// </summary>
public sealed class ScenarioDriver(IInferClient client, int users, double spawnRate, double thinkMin, double thinkMax, int seed = 1) : ILoadDriver
{
    private int _activeUsers;

    /// <summary>Users started so far.</summary>
    public int ActiveUsers => Volatile.Read(ref _activeUsers);

    public Task RunAsync(LevelRecorder recorder, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, users).Select(u => UserAsync(u, recorder, stop)));

    private async Task UserAsync(int user, LevelRecorder recorder, CancellationToken stop)
    {
        var random = new Random(seed + user);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(user / spawnRate), stop).ConfigureAwait(false);
            Interlocked.Increment(ref _activeUsers);
            while (!stop.IsCancellationRequested)
            {
                await RequestExecution.SendAsync(client, recorder, Stopwatch.GetTimestamp(), stop).ConfigureAwait(false);
                var think = thinkMin + (random.NextDouble() * (thinkMax - thinkMin));
                await Task.Delay(TimeSpan.FromSeconds(think), stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
