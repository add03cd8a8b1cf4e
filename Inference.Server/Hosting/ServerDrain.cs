using Inference.Server.Protocol.Grpc;
using Inference.Server.Repository;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Inference.Server.Hosting;

/// <summary>
/// Graceful shutdown, as Triton's <c>--exit-timeout-secs</c> (<see cref="InferenceServerOptions.ExitTimeoutSeconds"/>).
/// When the host stops (SIGTERM, SIGINT, or <c>StopAsync</c>), <see cref="StoppingAsync"/> runs before any hosted
/// service's StopAsync, so before Kestrel's closes the listeners:
/// <list type="number">
/// <item>At once: <see cref="ModelManager.BeginDrain"/>, so that <c>/v2/health/ready</c> answers 400, gRPC ServerReady
/// false, the gRPC health service NOT_SERVING (watchers are told now, not at the next refresh) and <c>/health</c> 503, while
/// liveness stays true; new inference requests get HTTP 503 / gRPC UNAVAILABLE ("server is shutting down"), and HTTP/1.x
/// answers close their connection (<see cref="DrainConnectionClose"/>).</item>
/// <item>It waits until no inference request is queued or executing (<see cref="ModelManager.InflightCount"/>, read every
/// <see cref="PollInterval"/>), or until the exit timeout has passed, whichever comes first; the listeners stay open
/// meanwhile and the answers go out on them.</item>
/// <item>It ends the open ModelStreamInfer streams (<see cref="Drained"/>): each stops reading, writes the answers it
/// owes and ends with UNAVAILABLE, so that no stream holds Kestrel's stop up until the host's shutdown timeout. When
/// streams were open, it waits until each has ended (<see cref="OpenStreams"/>, at most <see cref="ListenerCloseGrace"/>)
/// and then <see cref="StreamEndSettle"/>: a client that was still sending on its stream stops when it reads the end,
/// and a connection closed while its DATA frames still arrive is reset by TCP, which throws away the stream's final
/// status unread on the client's side.</item>
/// <item>It returns; the host then stops Kestrel, which closes the listeners and waits for the answers still being
/// written (a request that slipped past the drain check just as it began among them) until the host's shutdown timeout,
/// which <see cref="HostShutdownTimeout"/> sets to the exit timeout plus <see cref="ListenerCloseGrace"/>. The models are
/// unloaded after that (<see cref="ModelManagerService"/>) and the process exits with 0.</item>
/// </list>
/// The server does not wait after turning not ready for load balancers to notice: on Kubernetes a preStop hook
/// (<c>sleep</c>) does that before SIGTERM is sent, and a server without one should not be held up for nothing. Without a
/// preStop hook, a pod with nothing in flight closes its listeners at once.
/// </summary>
public sealed partial class ServerDrain(
    ModelManager manager, ReadinessHealthService health, IOptions<InferenceServerOptions> options, TimeProvider time, ILogger<ServerDrain> logger)
    : IHostedLifecycleService
{
    private volatile bool _draining;
    private readonly CancellationTokenSource _drained = new();
    private int _openStreams;

    /// <summary>True from the start of the drain on (never false again): the server is stopping.</summary>
    public bool IsDraining => _draining;

    /// <summary>Cancelled when the drain's wait ends (nothing in flight, the exit timeout passed, or the host gave up),
    /// just before the listeners close: long-lived calls (ModelStreamInfer streams) end then, after writing the answers
    /// they owe, since Kestrel waits for open streams until the host's shutdown timeout.</summary>
    public CancellationToken Drained => _drained.Token;

    /// <summary>The long-lived calls (ModelStreamInfer streams) open now: counted from <see cref="StreamOpened"/> to
    /// <see cref="StreamEnded"/>.</summary>
    public int OpenStreams => Volatile.Read(ref _openStreams);

    /// <summary>A long-lived call began; <see cref="StreamEnded"/> must follow once its response has been completed
    /// (its final status written), not merely when its handler returns.</summary>
    public void StreamOpened() => Interlocked.Increment(ref _openStreams);

    /// <summary>A call counted by <see cref="StreamOpened"/> has written its final status.</summary>
    public void StreamEnded() => Interlocked.Decrement(ref _openStreams);

    /// <summary>How long the drain waits, after the streams it ended have written their final status, before the
    /// listeners close: many round trips, for the clients to read the end and stop sending on those streams.</summary>
    public static readonly TimeSpan StreamEndSettle = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the in-flight count is read while draining.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>What the host's shutdown timeout allows beyond the exit timeout: for Kestrel to finish writing answers
    /// and close its connections (open streams are cut when it runs out) after the drain.</summary>
    public static readonly TimeSpan ListenerCloseGrace = TimeSpan.FromSeconds(5);

    /// <summary>The host's shutdown timeout for an exit timeout of <paramref name="exitTimeoutSeconds"/> (clamped to
    /// 0..<see cref="InferenceServerOptions.MaxExitTimeoutSeconds"/>): longer than it, so the host never cuts the drain short.</summary>
    public static TimeSpan HostShutdownTimeout(int exitTimeoutSeconds) =>
        TimeSpan.FromSeconds(Math.Clamp(exitTimeoutSeconds, 0, InferenceServerOptions.MaxExitTimeoutSeconds)) + ListenerCloseGrace;

    /// <summary>Drains as the class describes. Cancelling <paramref name="cancellationToken"/> (the host giving up)
    /// only stops the waiting.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        manager.BeginDrain();
        health.Refresh();
        var timeout = TimeSpan.FromSeconds(options.Value.ExitTimeoutSeconds);
        LogDraining(logger, manager.InflightCount, options.Value.ExitTimeoutSeconds);
        var started = time.GetTimestamp();
        try
        {
            var left = await WaitUntilIdleAsync(() => manager.InflightCount, timeout, time, cancellationToken).ConfigureAwait(false);
            if (left == 0)
            {
                LogDrained(logger, (long)time.GetElapsedTime(started).TotalMilliseconds);
            }
            else
            {
                LogDrainTimedOut(logger, options.Value.ExitTimeoutSeconds, left);
            }
        }
        finally
        {
            await _drained.CancelAsync().ConfigureAwait(false);
        }
        if (OpenStreams > 0 && !cancellationToken.IsCancellationRequested)
        {
            await WaitUntilIdleAsync(() => OpenStreams, ListenerCloseGrace, time, cancellationToken).ConfigureAwait(false);
            await Task.Delay(StreamEndSettle, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Reads <paramref name="inflight"/> now and every <see cref="PollInterval"/> until it is 0 or
    /// <paramref name="timeout"/> has passed on <paramref name="time"/>, or <paramref name="cancellationToken"/> fires;
    /// returns the last count (0: idle). Never throws for the cancellation.</summary>
    internal static async Task<int> WaitUntilIdleAsync(Func<int> inflight, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var start = time.GetTimestamp();
        var count = inflight();
        while (count > 0 && !cancellationToken.IsCancellationRequested)
        {
            var left = timeout - time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
            {
                break;
            }
            await Task.Delay(left < PollInterval ? left : PollInterval, time, cancellationToken)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            count = inflight();
        }
        return count;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "Draining: {InFlight} inference request(s) in flight, waiting up to {TimeoutSeconds} s for them before the listeners close; not ready, and new inference requests are refused")]
    private static partial void LogDraining(ILogger logger, int inFlight, int timeoutSeconds);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Drained: no inference request in flight after {ElapsedMilliseconds} ms; closing the listeners")]
    private static partial void LogDrained(ILogger logger, long elapsedMilliseconds);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning,
        Message = "Drain timed out after {TimeoutSeconds} s: {InFlight} inference request(s) still in flight; closing the listeners")]
    private static partial void LogDrainTimedOut(ILogger logger, int timeoutSeconds, int inFlight);
}
