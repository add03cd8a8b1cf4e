using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Inference.Tests.ModelTools;

namespace Inference.Tests.LoadTest;

/// <summary>
/// LoadTest as a child process (<c>dotnet LoadTest.dll</c>) against the real server, stopped by a signal the way the
/// Aspire dashboard's Stop (SIGTERM) and Ctrl+C (SIGINT) do: it must exit promptly with 143/130 and leave the report
/// of the finished levels plus the interrupted one.
/// </summary>
public sealed partial class SignalStopTests(LoadTestServerFixture fixture) : IClassFixture<LoadTestServerFixture>
{
    private const int SigInt = 2;
    private const int SigTerm = 15;

    [Theory]
    [InlineData("sweep", SigTerm, 143)]
    [InlineData("sweep", SigInt, 130)]
    [InlineData("scenario", SigTerm, 143)]
    public async Task Signalled_StopsPromptly_WritesThePartialReport_AndExitsWithTheSignalCode(string command, int signal, int expectedCode)
    {
        var ct = TestContext.Current.CancellationToken;
        using var output = new TempDirectory();
        string[] common = ["--url", fixture.Server.GrpcAddress.ToString(), "-p", "500", "--output-dir", output.Path, "-q", "--duration", "60"];
        // The sweep's level 1 lasts 60 s; the scenario (the AppHost's loadtest resource) runs 60 s: the signal lands inside.
        using var process = LoadTestProcess.Start(command == "scenario"
            ? ["scenario", "-m", "resnet_224", "--users", "4", "--spawn-rate", "10", "--think", "0.05:0.1", .. common]
            : ["-m", "identity", "--concurrency", "1,2", "--warmup", "0", .. common], output.Path);
        var stdout = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Task.Delay(TimeSpan.FromSeconds(4), ct); // startup plus part of the level
        Assert.False(process.HasExited, "LoadTest exited before the signal");

        Assert.Equal(0, Kill(process.Id, signal));
        var stopwatch = Stopwatch.StartNew();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(wait.Token);
        stopwatch.Stop();

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"took {stopwatch.Elapsed.TotalSeconds:0.0} s to stop");
        Assert.Equal(expectedCode, process.ExitCode);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output.Path, "results.json"), ct));
        var levels = json.RootElement.GetProperty("levels").EnumerateArray().ToList();
        Assert.NotEmpty(levels);
        var last = levels[^1];
        Assert.True(last.GetProperty("interrupted").GetBoolean());
        Assert.True(last.GetProperty("successes").GetInt64() > 0);
        Assert.Contains("cancelled", json.RootElement.GetProperty("stopped_early").GetString());
        var csv = await File.ReadAllLinesAsync(Path.Combine(output.Path, "results.csv"), ct);
        Assert.EndsWith(",interrupted", csv[^1]);
        Assert.Contains("interrupted", await File.ReadAllTextAsync(Path.Combine(output.Path, "report.html"), ct));
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>Starts <c>dotnet LoadTest.dll</c> (the copy next to the test assembly) with redirected output.</summary>
internal static class LoadTestProcess
{
    public static Process Start(IEnumerable<string> args, string workingDirectory)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "LoadTest.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info) ?? throw new InvalidOperationException("could not start LoadTest");
    }
}
