using System.Globalization;

namespace LoadTest.Reliability;

/// <summary>
/// Category 6: steady load (4 workers, HTTP binary and gRPC, on the good model) for
/// <see cref="ReliabilityOptions.EffectiveSoakDuration"/>, sampling the server's RSS, threads and open descriptors
/// every 2 s (short) or 5 s (long). After a warm-up (the first 10 % of the run, at least 5 s) the least-squares slope
/// per minute of each must stay under its bound (<see cref="Bounds"/>; looser for the short form, whose 30 s are
/// dominated by noise). Every request is a check too: served passes, anything else fails.
/// </summary>
public sealed class SoakCategory : IReliabilityCategory
{
    /// <summary>Per-minute slope bounds: RSS (MiB), threads, descriptors.</summary>
    public static (double RssMiB, double Threads, double Fds) Bounds(bool longForm) => longForm ? (4, 1, 1) : (32, 20, 20);

    public string Name => "soak";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var duration = options.EffectiveSoakDuration;
        var interval = options.Long ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(2);
        var warmup = TimeSpan.FromSeconds(Math.Max(5, duration.TotalSeconds / 10));
        var samples = new List<(double Minutes, ProcessSample Sample)>();
        await using var http = new HttpLoadClient(options.HttpUrl, context.Seeds);
        await using var grpc = new GrpcLoadClient(options.GrpcUrl, context.Seeds, channels: 2);
        var started = DateTime.UtcNow;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (context.Process?.Sample() is { } s)
                {
                    lock (samples)
                    {
                        samples.Add(((s.At - started).TotalMinutes, s));
                    }
                }
                try
                {
                    await Task.Delay(interval, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }, CancellationToken.None);
        var tally = await ClosedLoop.RunAsync([http, grpc], 4, duration, options.RequestTimeout, cancellationToken,
            (_, _, r) =>
            {
                if (r.Kind == LoadResultKind.Ok)
                {
                    report.Pass();
                }
                else
                {
                    report.Fail($"soak/request/{r.Label}", r.Label);
                }
            }).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);

        report.Figure("duration", $"{duration.TotalSeconds:F0} s");
        report.Figure("requests/s", tally.Total / duration.TotalSeconds, "F0");
        report.Figure("p99 ms", tally.Accepted.P99Us / 1000, "F2");
        if (context.Process is null)
        {
            report.Skip("soak/slopes", "no --server-pid");
            return;
        }
        var measured = samples.Where(s => s.Minutes >= warmup.TotalMinutes).ToList();
        if (!report.Check(measured.Count >= 3, "soak/samples", () => $"only {measured.Count} samples after the warm-up (process gone?)"))
        {
            return;
        }
        var x = measured.Select(s => s.Minutes).ToList();
        var rss = LeastSquares.Slope(x, [.. measured.Select(s => s.Sample.RssMiB)]);
        var threads = LeastSquares.Slope(x, [.. measured.Select(s => (double)s.Sample.Threads)]);
        var fds = LeastSquares.Slope(x, [.. measured.Select(s => (double)s.Sample.OpenFds)]);
        var bounds = Bounds(options.Long);
        report.Check(rss <= bounds.RssMiB, "soak/rss-slope", () => $"RSS grows {rss:F2} MiB/min (bound {bounds.RssMiB})");
        report.Check(threads <= bounds.Threads, "soak/thread-slope", () => $"threads grow {threads:F2}/min (bound {bounds.Threads})");
        report.Check(fds <= bounds.Fds, "soak/fd-slope", () => $"open descriptors grow {fds:F2}/min (bound {bounds.Fds})");
        var first = measured[0].Sample;
        var last = measured[^1].Sample;
        report.Figure("samples", measured.Count.ToString(CultureInfo.InvariantCulture));
        report.Figure("RSS MiB/min", rss, "F2");
        report.Figure("threads/min", threads, "F2");
        report.Figure("fds/min", fds, "F2");
        report.Figure("bounds", $"{bounds.RssMiB}/{bounds.Threads}/{bounds.Fds}");
        report.Figure("RSS MiB first/last", $"{first.RssMiB:F0}/{last.RssMiB:F0}");
        report.Figure("threads first/last", $"{first.Threads}/{last.Threads}");
        report.Figure("fds first/last", $"{first.OpenFds}/{last.OpenFds}");
    }
}
