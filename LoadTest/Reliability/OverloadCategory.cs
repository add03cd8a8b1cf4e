using System.Globalization;
using System.Text.Json;
using LoadTest.Model;

namespace LoadTest.Reliability;

/// <summary>
/// Category 3: a closed loop at ten times what the overload model can hold (its max_queue_size plus one batch per
/// instance), half over HTTP (binary) and half over gRPC, for <see cref="ReliabilityOptions.EffectiveOverloadDuration"/>.
/// Each request is a check: served or rejected by admission control (503 / UNAVAILABLE) passes; lost (no answer
/// within the timeout, a reset) or any other error fails. More checks: the bounded queue did reject, the server's
/// RSS grew by at most <see cref="MaxRssGrowthMiB"/> MiB, and afterwards nothing is pending and good requests are
/// served. Figures: accepted, rejected, lost, p99 of accepted, RSS before/peak/after.
/// </summary>
public sealed class OverloadCategory : IReliabilityCategory
{
    /// <summary>How much the server's resident memory may grow over the overload (after it settles).</summary>
    public const double MaxRssGrowthMiB = 256;

    private const int Multiple = 10;

    public string Name => "overload";

    public async Task RunAsync(SuiteContext context, CategoryReport report, CancellationToken cancellationToken)
    {
        var options = context.Options;
        var model = options.OverloadModel;
        ModelInfo info;
        int maxQueue, instances;
        try
        {
            using var client = new HttpServerInfoClient(options.HttpUrl, model, "");
            info = await client.GetModelInfoAsync(cancellationToken).ConfigureAwait(false);
            (maxQueue, instances) = await QueueBoundAsync(context, model, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            report.Fail("overload/model", $"overload model '{model}' is not usable: {e.Message}");
            return;
        }
        if (!report.Check(maxQueue > 0, "overload/bounded-queue", () => $"model '{model}' has no bounded dynamic_batching default_queue_policy max_queue_size"))
        {
            return;
        }
        var seeds = SeedRequests.Create(info, options.Seed);
        var capacity = maxQueue + Math.Max(1, info.MaxBatchSize) * Math.Max(1, instances);
        var concurrency = Math.Min(Multiple * capacity, 2000);
        report.Figure("model", model);
        report.Figure("capacity", capacity.ToString(CultureInfo.InvariantCulture));
        report.Figure("concurrency", concurrency.ToString(CultureInfo.InvariantCulture));

        await using var http = new HttpLoadClient(options.HttpUrl, seeds);
        await using var grpc = new GrpcLoadClient(options.GrpcUrl, seeds, channels: 4);
        var before = context.Process?.Sample();
        var peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                if (context.Process?.Sample() is { } s && (peak is null || s.RssBytes > peak.RssBytes))
                {
                    peak = s;
                }
                await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);

        var duration = options.EffectiveOverloadDuration;
        var tally = await ClosedLoop.RunAsync([http, grpc], concurrency, duration, options.RequestTimeout, cancellationToken,
            (_, _, r) =>
            {
                if (r.Kind is LoadResultKind.Ok or LoadResultKind.Rejected)
                {
                    report.Pass();
                }
                else
                {
                    report.Fail($"overload/{(r.Kind == LoadResultKind.Lost ? "lost" : "error")}/{r.Label}", r.Label);
                }
            }).ConfigureAwait(false);
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);

        var pending = await ServerMetrics.WaitForNoPendingAsync(context.Http, options.HttpUrl, model, TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        var serving = await context.ServesAsync(cancellationToken).ConfigureAwait(false);
        report.Check(pending is 0 or null && serving is null, "overload/recovered", () => $"pending requests {pending}; {serving ?? "serves"}");
        report.Check(tally.Rejected > 0, "overload/queue-bound-enforced",
            () => $"{concurrency} concurrent requests against a queue of {maxQueue} were never rejected");
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        var after = context.Process?.Sample();
        if (before is not null && after is not null)
        {
            var growth = after.RssMiB - before.RssMiB;
            report.Check(growth <= MaxRssGrowthMiB, "overload/rss-bounded", () => $"RSS grew {growth:F0} MiB ({before.RssMiB:F0} -> {after.RssMiB:F0}), bound {MaxRssGrowthMiB} MiB");
            report.Figure("RSS MiB before/peak/after", $"{before.RssMiB:F0}/{peak!.RssMiB:F0}/{after.RssMiB:F0}");
        }
        else
        {
            report.Skip("overload/rss-bounded", "no --server-pid");
        }
        var accepted = tally.Accepted;
        report.Figure("requests", tally.Total.ToString(CultureInfo.InvariantCulture));
        report.Figure("accepted", tally.Ok.ToString(CultureInfo.InvariantCulture));
        report.Figure("rejected", tally.Rejected.ToString(CultureInfo.InvariantCulture));
        report.Figure("lost", tally.Lost.ToString(CultureInfo.InvariantCulture));
        report.Figure("errors", tally.Errors.ToString(CultureInfo.InvariantCulture));
        report.Figure("accepted/s", tally.Ok / duration.TotalSeconds, "F0");
        report.Figure("p50/p99 accepted ms", $"{accepted.P50Us / 1000:F1}/{accepted.P99Us / 1000:F1}");
        report.Figure("by label", tally.DescribeLabels());
    }

    /// <summary>max_queue_size of the default queue policy (0: unbounded or no dynamic batching) and the number of
    /// instances, from the model's config.</summary>
    private static async Task<(int MaxQueue, int Instances)> QueueBoundAsync(SuiteContext context, string model, CancellationToken cancellationToken)
    {
        var r = await context.SendAsync(HttpMethod.Get, $"/v2/models/{model}/config", null, cancellationToken).ConfigureAwait(false);
        if (r.Status != 200)
        {
            throw new InvalidOperationException($"GET config: {r.Describe()}");
        }
        using var doc = JsonDocument.Parse(r.Body);
        var root = doc.RootElement;
        var maxQueue = 0;
        if (root.TryGetProperty("dynamic_batching", out var db) && db.TryGetProperty("default_queue_policy", out var policy)
            && policy.TryGetProperty("max_queue_size", out var size))
        {
            maxQueue = size.ValueKind == JsonValueKind.String ? int.Parse(size.GetString()!, CultureInfo.InvariantCulture) : size.GetInt32();
        }
        var instances = 0;
        if (root.TryGetProperty("instance_group", out var groups))
        {
            foreach (var g in groups.EnumerateArray())
            {
                instances += g.TryGetProperty("count", out var count) ? count.GetInt32() : 1;
            }
        }
        return (maxQueue, Math.Max(1, instances));
    }
}
