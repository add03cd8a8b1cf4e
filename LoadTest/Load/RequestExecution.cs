using System.Diagnostics;
using LoadTest.Clients;
using LoadTest.Stats;

namespace LoadTest.Load;

/// <summary>Sends one request and records its outcome, its latency measured from <c>startTimestamp</c>
/// (<see cref="Stopwatch"/> ticks: the send time in a closed loop, the intended send time in an open loop).</summary>
internal static class RequestExecution
{
    /// <returns>False when the request was cut short by <paramref name="stop"/> (nothing recorded).</returns>
    public static async Task<bool> SendAsync(IInferClient client, LevelRecorder recorder, long startTimestamp, CancellationToken stop)
    {
        string? error;
        try
        {
            error = await client.InferAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            error = "timeout";
        }
        catch (HttpRequestException e)
        {
            error = "transport-" + e.HttpRequestError;
        }
        if (stop.IsCancellationRequested)
        {
            return false;
        }
        if (error is null)
        {
            recorder.RecordSuccess(startTimestamp);
        }
        else
        {
            recorder.RecordError(error, startTimestamp);
        }
        return true;
    }
}
