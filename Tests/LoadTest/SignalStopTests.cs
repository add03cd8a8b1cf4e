using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
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

        var elapsed = await SignalAndWaitForExitAsync(process, signal, TimeSpan.FromSeconds(10), ct);

        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed.TotalSeconds:0.0} s to stop");
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

    /// <summary>
    /// The last OTLP export, to an endpoint that accepts connections and never answers, must not hold the exit: the
    /// AppHost's loadtest exports to the dashboard, and OpenTelemetry's disposal alone would wait 5 s, LoadTest's whole
    /// grace period, against the 6 s DCP gives a stopped resource before SIGKILL. With and without the Prometheus
    /// endpoint (the AppHost passes one), whose host owns the meter provider then.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sigterm_WithAnOtlpEndpointThatNeverAnswers_StillExitsPromptly(bool metricsPort)
    {
        var ct = TestContext.Current.CancellationToken;
        using var output = new TempDirectory();
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await blackHole.AcceptTcpClientAsync(ct)); // held open, never read or answered
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }, CancellationToken.None);
        var otlp = $"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}";
        string[] args = ["scenario", "--url", fixture.Server.GrpcAddress.ToString(), "-m", "resnet_224", "--users", "4", "--spawn-rate", "10",
            "--think", "0.05:0.1", "-p", "500", "--duration", "60", .. metricsPort ? ["--metrics-port", FreePort().ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()];
        using var process = LoadTestProcess.Start(args, output.Path, new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp });
        var stderr = new List<string>();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => { if (e.Data?.StartsWith("users,", StringComparison.Ordinal) == true) { running.TrySetResult(); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // The CSV header comes once the model's metadata is read and the exporters run (the fixture's server may still
        // be loading resnet_224 when this test comes first); then part of the level.
        await running.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        Assert.False(process.HasExited, "LoadTest exited before the signal");

        var elapsed = await SignalAndWaitForExitAsync(process, SigTerm, TimeSpan.FromSeconds(15), ct);
        blackHole.Stop();
        await accepting;
        accepted.ForEach(c => c.Dispose());

        Assert.Equal(143, process.ExitCode);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed.TotalSeconds:0.0} s to stop");
        lock (stderr)
        {
            Assert.Contains(stderr, l => l.Contains("reporting the finished levels and the interrupted one", StringComparison.Ordinal));
            Assert.DoesNotContain(stderr, l => l.Contains("did not stop within", StringComparison.Ordinal));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Sends <paramref name="signal"/> and waits, at most <paramref name="wait"/>, for the process to exit;
    /// returns how long the exit took from the signal.</summary>
    private static async Task<TimeSpan> SignalAndWaitForExitAsync(Process process, int signal, TimeSpan wait, CancellationToken ct)
    {
        Assert.Equal(0, Kill(process.Id, signal));
        var stopwatch = Stopwatch.StartNew();
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct);
        waiting.CancelAfter(wait);
        await process.WaitForExitAsync(waiting.Token);
        return stopwatch.Elapsed;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>Starts <c>dotnet LoadTest.dll</c> (the copy next to the test assembly) with redirected output.</summary>
internal static class LoadTestProcess
{
    public static Process Start(IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "LoadTest.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info) ?? throw new InvalidOperationException("could not start LoadTest");
    }
}
