using System.CommandLine;
using System.Globalization;
using LoadTest.Load;

namespace LoadTest.Cli;

/// <summary>
/// <c>scenario</c>: the seed's Locust test. <c>--users</c> simulated users, spawned at <c>--spawn-rate</c> per second,
/// each sending one image per request (224x224 from <c>--images</c>, or a synthetic picture) over gRPC and thinking
/// <c>--think min:max</c> seconds between requests, for <c>--duration</c> seconds. Reported as one level.
/// </summary>
public static class ScenarioCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var users = new Option<int>("--users") { Description = "Simulated users", DefaultValueFactory = _ => 10 };
        var spawnRate = new Option<double>("--spawn-rate") { Description = "Users started per second", DefaultValueFactory = _ => 1 };
        var think = new Option<string>("--think") { Description = "Think time between a user's requests, min:max seconds", DefaultValueFactory = _ => "0.8:1.2" };
        var duration = new Option<double>("--duration") { Description = "Seconds, ramp-up included", DefaultValueFactory = _ => 60 };
        var command = new Command("scenario", "Locust-style users (the seed's load test): images over gRPC with think time");
        common.AddTo(command);
        command.Options.Add(users);
        command.Options.Add(spawnRate);
        command.Options.Add(think);
        command.Options.Add(duration);
        command.SetAction(async (parse, ct) =>
        {
            var parts = parse.GetValue(think)!.Split(':');
            if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var min)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var max) || min < 0 || max < min)
            {
                Console.Error.WriteLine("error: --think must be min:max seconds, e.g. 0.8:1.2");
                return 2;
            }
            var n = parse.GetValue(users);
            var rate = parse.GetValue(spawnRate);
            var seconds = parse.GetValue(duration);
            var plan = new MeasurementPlan(TimeSpan.Zero, TimeSpan.FromMilliseconds(parse.GetValue(common.MeasurementInterval)), TimeSpan.FromSeconds(seconds));
            var shape = new LoadShape("users",
                (client, batch) => [new LevelSpec("users", n, batch, () => new ScenarioDriver(client, n, rate, min, max, parse.GetValue(common.Seed)))],
                plan, null, string.Create(CultureInfo.InvariantCulture, $"{n} users spawned at {rate}/s, think {min}-{max} s, {seconds} s (ramp-up included)"));
            return await RunPipeline.RunAsync(common, parse, shape, ct);
        });
        return command;
    }
}
