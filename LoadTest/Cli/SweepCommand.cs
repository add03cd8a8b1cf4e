using System.CommandLine;
using System.Globalization;
using LoadTest.Load;
using LoadTest.Stats;

namespace LoadTest.Cli;

/// <summary>
/// The root command: a closed-loop concurrency sweep (<c>--concurrency 1:64:x2</c>) or, with
/// <c>--request-rate</c>, an open-loop request-rate sweep (constant or <c>--poisson</c>). Each level runs after a
/// warm-up for <c>--duration</c> seconds, for <c>--request-count</c> requests, or until stable (perf_analyzer's rule).
/// </summary>
public static class SweepCommand
{
    public static RootCommand Create()
    {
        var common = new CommonOptions();
        var concurrency = new Option<string>("--concurrency", "--concurrency-range") { Description = "Closed-loop levels: 1,8,64 or 1:64:x2 or 1:16:4", DefaultValueFactory = _ => "1" };
        var rate = new Option<string?>("--request-rate", "--request-rate-range") { Description = "Open-loop levels in requests/s (same syntax); replaces --concurrency" };
        var poisson = new Option<bool>("--poisson") { Description = "Open loop: Poisson arrivals instead of evenly spaced" };
        var maxOutstanding = new Option<int>("--max-outstanding") { Description = "Open loop: in-flight limit; a send time over it counts as error max-outstanding-exceeded", DefaultValueFactory = _ => 1024 };
        var duration = new Option<double?>("--duration") { Description = "Seconds measured per level (default: until stable)" };
        var requestCount = new Option<long>("--request-count") { Description = "Requests measured per level (0: no limit)" };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds per level", DefaultValueFactory = _ => 2 };
        var stability = new Option<double>("--stability-percentage", "-s") { Description = "Stable when the last 3 windows' throughput and p99 are within this % of their mean", DefaultValueFactory = _ => 10 };
        var maxTrials = new Option<int>("--max-trials", "-r") { Description = "Most windows per level before giving up on stability", DefaultValueFactory = _ => 10 };
        var latencyThreshold = new Option<double?>("--latency-threshold", "-l") { Description = "Stop the sweep after a level whose p99 exceeds this many ms" };

        var root = new RootCommand("AspireInference load test: perf_analyzer-class KServe v2 load generator (closed loop, open loop, scenario)");
        common.AddTo(root);
        foreach (var o in new Option[] { concurrency, rate, poisson, maxOutstanding, duration, requestCount, warmup, stability, maxTrials, latencyThreshold })
        {
            root.Options.Add(o);
        }
        root.SetAction(async (parse, ct) =>
        {
            IReadOnlyList<double> levels;
            var rates = parse.GetValue(rate);
            try
            {
                levels = LevelRange.Parse(rates ?? parse.GetValue(concurrency)!);
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"error: {(rates is null ? "--concurrency" : "--request-rate")}: {e.Message}");
                return 2;
            }
            var seconds = parse.GetValue(duration);
            var plan = new MeasurementPlan(
                TimeSpan.FromSeconds(parse.GetValue(warmup)), TimeSpan.FromMilliseconds(parse.GetValue(common.MeasurementInterval)),
                seconds is { } s ? TimeSpan.FromSeconds(s) : null, parse.GetValue(requestCount),
                new StabilityRule(parse.GetValue(stability)), parse.GetValue(maxTrials));
            var measurement = string.Create(CultureInfo.InvariantCulture, $"warm-up {plan.Warmup.TotalSeconds:0.#} s, then ") + (plan.IsFixed
                ? string.Join(" or ", new[] { seconds is { } d ? $"{d:0.#} s" : null, plan.RequestCount > 0 ? $"{plan.RequestCount} requests" : null }.OfType<string>()) + " per level"
                : string.Create(CultureInfo.InvariantCulture, $"{plan.Window.TotalMilliseconds:0} ms windows until 3 are within {plan.Rule.Percentage}% (at most {plan.MaxWindows})"));
            var seed = parse.GetValue(common.Seed);
            var shape = rates is null
                ? new LoadShape("concurrency", (client, batch) => [.. levels.Select(l =>
                    new LevelSpec("concurrency", Math.Round(l), batch, () => new ClosedLoopDriver(client, (int)Math.Round(l))))], plan,
                    parse.GetValue(latencyThreshold), measurement)
                : new LoadShape("request_rate", (client, batch) => [.. levels.Select(l =>
                    new LevelSpec("request_rate", l, batch, () => new OpenLoopDriver(client, new ArrivalSchedule(l, parse.GetValue(poisson), seed), parse.GetValue(maxOutstanding))))],
                    plan, parse.GetValue(latencyThreshold),
                    measurement + (parse.GetValue(poisson) ? ", Poisson arrivals" : ", constant arrivals") + $", at most {parse.GetValue(maxOutstanding)} outstanding");
            return await RunPipeline.RunAsync(common, parse, shape, ct);
        });
        return root;
    }
}
