using System.CommandLine;
using System.Globalization;
using LoadTest.Baseline;

namespace LoadTest.Cli;

/// <summary><c>plain-grpc-loop</c>: the honesty benchmark's plain Grpc.Net.Client loop; prints requests/s.</summary>
public static class PlainGrpcLoopCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { DefaultValueFactory = _ => "http://127.0.0.1:8001" };
        var model = new Option<string>("--model", "-m") { DefaultValueFactory = _ => "identity" };
        var input = new Option<string>("--input") { DefaultValueFactory = _ => "INPUT0" };
        var width = new Option<int>("--width") { Description = "FP32 elements of the [1,width] input", DefaultValueFactory = _ => 16 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 64 };
        var channels = new Option<int>("--channels") { DefaultValueFactory = _ => 4 };
        var warmup = new Option<double>("--warmup") { DefaultValueFactory = _ => 2 };
        var duration = new Option<double>("--duration") { DefaultValueFactory = _ => 10 };
        var command = new Command("plain-grpc-loop", "Reference for the honesty benchmark: a bare Grpc.Net.Client closed loop (prints requests/s)")
        {
            url, model, input, width, concurrency, channels, warmup, duration,
        };
        command.SetAction(async (parse, ct) =>
        {
            var rps = await PlainGrpcLoop.RunAsync(new Uri(parse.GetValue(url)!), parse.GetValue(model)!, parse.GetValue(input)!, parse.GetValue(width),
                parse.GetValue(concurrency), parse.GetValue(channels), TimeSpan.FromSeconds(parse.GetValue(warmup)), TimeSpan.FromSeconds(parse.GetValue(duration)), ct);
            Console.WriteLine(rps.ToString("F1", CultureInfo.InvariantCulture));
            return 0;
        });
        return command;
    }
}
