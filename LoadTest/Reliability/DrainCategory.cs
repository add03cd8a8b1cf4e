using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace LoadTest.Reliability;

/// <summary>
/// The SIGTERM drain check (runs last, only with <c>--drain</c>; it ends the server). Load: 24 workers on the overload
/// model (else the good model) and, when the suite may add models (explicit mode, repository given), 24 more on a model
/// that holds each request up to a second in its queue waiting for a batch (<c>rel_drain</c>), a third each over HTTP,
/// unary gRPC and long-lived ModelStreamInfer streams. After 3 s the suite sends SIGTERM to <c>--server-pid</c> and measures the time until the process is
/// gone. Checks: every request in flight at the signal got an answer (served, or rejected with 503 / UNAVAILABLE), none
/// hung (no answer within the timeout, whenever it started), no load client threw (whenever it started), and the process
/// exited within <see cref="MaxExitSeconds"/> s.
/// </summary>
public sealed partial class DrainCategory : IReliabilityCategory
{
    /// <summary>The bound on the time from SIGTERM to exit. The work in flight here finishes within about a second
    /// (the longest queue delay); ten seconds leave room for a slow machine but not for waiting out a host's 30 s
    /// shutdown timeout on connections that are never closed.</summary>
    public const double MaxExitSeconds = 10;

    private const int SigTerm = 15;
    private const string DrainModel = "rel_drain";

    public string Name => "drain";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        if (context.Process is not { } process)
        {
            report.Skip("drain", "no --server-pid");
            return;
        }
        var options = context.Options;
        var clients = new List<ILoadClient>();
        var models = new SuiteModels(context);
        var ownModel = false;
        try
        {
            var main = await SeedsAsync(context, options.OverloadModel, cancellationToken).ConfigureAwait(false) ?? context.Seeds;
            clients.Add(new HttpLoadClient(options.HttpUrl, main));
            clients.Add(new GrpcLoadClient(options.GrpcUrl, main, channels: 2));
            clients.Add(new GrpcStreamLoadClient(options.GrpcUrl, main));
            var names = main.Model.Name;
            if (options.Repository is not null && context.Mode == ServerControlMode.Explicit)
            {
                models.WriteIdentity(DrainModel, maxBatchSize: 64, maxQueueDelayMicroseconds: 1_000_000);
                ownModel = true;
                var load = await models.LoadAsync(DrainModel, cancellationToken).ConfigureAwait(false);
                if (report.Check(load.Status == 200, "drain/setup-load", () => $"loading '{DrainModel}': {load.Describe()}")
                    && await SeedsAsync(context, DrainModel, cancellationToken).ConfigureAwait(false) is { } slow)
                {
                    clients.Add(new HttpLoadClient(options.HttpUrl, slow));
                    clients.Add(new GrpcLoadClient(options.GrpcUrl, slow, channels: 2));
                    clients.Add(new GrpcStreamLoadClient(options.GrpcUrl, slow));
                    names += ", " + DrainModel;
                }
            }
            else
            {
                report.Skip("drain/queued-requests", "no --repository or not explicit mode: no model that holds requests in its queue");
            }
            report.Figure("models", names);
            await MeasureAsync(context, process, clients, report, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
            if (ownModel && Directory.Exists(models.Folder(DrainModel)))
            {
                Directory.Delete(models.Folder(DrainModel), recursive: true);
            }
        }
    }

    private static async Task MeasureAsync(SuiteContext context, ServerProcessStats process, List<ILoadClient> clients, CategoryReport report, CancellationToken cancellationToken)
    {
        var options = context.Options;
        long signalAt = long.MaxValue;
        long exitedAt = 0;
        var requests = new List<(long Start, long End, LoadResult Result)>();
        var load = ClosedLoop.RunAsync(clients, 8 * clients.Count, TimeSpan.FromSeconds(3 + MaxExitSeconds + 5), options.RequestTimeout, cancellationToken,
            (start, end, result) =>
            {
                lock (requests)
                {
                    requests.Add((start, end, result));
                }
            },
            stopEarly: () => Volatile.Read(ref exitedAt) != 0,
            pauseAfterLoss: TimeSpan.FromMilliseconds(20));
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref signalAt, Stopwatch.GetTimestamp());
        if (Kill(process.Pid, SigTerm) != 0)
        {
            report.Fail("drain/signal", $"kill({process.Pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
            Volatile.Write(ref exitedAt, Stopwatch.GetTimestamp());
            await load.ConfigureAwait(false);
            return;
        }
        var deadline = DateTime.UtcNow.AddSeconds(MaxExitSeconds + 30);
        while (process.IsAlive && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        var exited = !process.IsAlive;
        Volatile.Write(ref exitedAt, Stopwatch.GetTimestamp());
        await load.ConfigureAwait(false);
        var exitSeconds = (double)(exitedAt - signalAt) / Stopwatch.Frequency;

        report.Check(exited && exitSeconds <= MaxExitSeconds, "drain/exit-in-time",
            () => exited ? $"exited {exitSeconds:F1} s after SIGTERM (bound {MaxExitSeconds} s)" : $"still running {exitSeconds:F0} s after SIGTERM");
        List<(long Start, long End, LoadResult Result)> all;
        lock (requests)
        {
            all = [.. requests];
        }
        var inFlight = all.Where(r => r.Start < signalAt && r.End > signalAt).ToList();
        foreach (var r in inFlight)
        {
            report.Check(r.Result.Kind is LoadResultKind.Ok or LoadResultKind.Rejected, $"drain/in-flight/{r.Result.Label}",
                () => $"a request in flight at SIGTERM ended with {r.Result.Label} {(double)(r.End - signalAt) / Stopwatch.Frequency:F2} s after it");
        }
        var thrown = all.Where(r => r.Result.Thrown).ToList();
        report.Check(thrown.Count == 0, "drain/client-threw", () =>
            $"{thrown.Count} requests ended with an exception from the load client ({Labels(thrown)}), " +
            $"{thrown.Count(r => r.Start >= signalAt)} of them sent after SIGTERM");
        var hangs = all.Count(r => r.Result.Label == "timeout");
        report.Check(hangs == 0, "drain/no-hangs", () => $"{hangs} requests got no answer within {options.RequestTimeout.TotalSeconds:F0} s");
        var after = all.Where(r => r.Start >= signalAt).ToList();
        report.Figure("time to exit s", exitSeconds, "F2");
        report.Figure("in flight at SIGTERM", inFlight.Count.ToString(CultureInfo.InvariantCulture));
        report.Figure("lost of them", inFlight.Count(r => r.Result.Kind is LoadResultKind.Lost or LoadResultKind.Error).ToString(CultureInfo.InvariantCulture));
        report.Figure("in-flight endings", Labels(inFlight));
        report.Figure("sent after SIGTERM", $"{after.Count} ({Labels(after)})");
        report.Figure("streams broken after SIGTERM", after.Count(r => r.Result.Label.StartsWith("grpc-stream-broken", StringComparison.Ordinal)).ToString(CultureInfo.InvariantCulture));
        report.Figure("served before SIGTERM", all.Count(r => r.End <= signalAt && r.Result.Kind == LoadResultKind.Ok).ToString(CultureInfo.InvariantCulture));
    }

    private static string Labels(IEnumerable<(long Start, long End, LoadResult Result)> requests) =>
        string.Join(" ", requests.GroupBy(r => r.Result.Label).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}"));

    private static async Task<SeedRequests?> SeedsAsync(SuiteContext context, string model, CancellationToken cancellationToken)
    {
        try
        {
            using var info = new Model.HttpServerInfoClient(context.Options.HttpUrl, model, "");
            return SeedRequests.Create(await info.GetModelInfoAsync(cancellationToken).ConfigureAwait(false), context.Options.Seed);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
