using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.AppHost;

/// <summary>
/// The dashboard's Start and Stop buttons on <c>loadtest</c>, through the same resource commands the dashboard sends,
/// against the real DCP and server. DCP stops an executable by sending SIGTERM to the process it started (here
/// <c>dotnet run --project LoadTest ...</c>, which passes the signal on to LoadTest), waits 6 s, then sends SIGKILL;
/// a LoadTest that ignored SIGTERM left the resource in state Unknown with "Failed to stop resource" and "timed out
/// waiting for process to stop". Stop must succeed, the resource must reach Finished with exit code 143 (SIGTERM
/// handled, not killed), and its console log must hold the partial report.
/// </summary>
public sealed class LoadTestStopTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// From the Stop command to Finished. Exit code 143 already shows SIGTERM was enough (after DCP's SIGKILL, 6 s on,
    /// the state is Unknown); this bound, 6 s plus the command's own round trips to DCP, catches a stop that dragged.
    /// </summary>
    private static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StopCommand_OnARunningLoadTest_FinishesBySigterm_WithThePartialReportInItsConsoleLog()
    {
        var (builder, built) = await AppHostWithoutContainers.BuildAsync([], Ct);
        await using var app = built;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        await app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("inference", timeout.Token);

        var loadTest = builder.Resources.Single(r => r.Name == "loadtest");
        var lines = new ConcurrentQueue<string>();
        var measuring = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().WatchAsync(loadTest).WithCancellation(stopWatching.Token))
                {
                    foreach (var line in batch)
                    {
                        // Content is "<timestamp> <line>".
                        lines.Enqueue(line.Content[(line.Content.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
                        if (line.Content.Contains("window 1:", StringComparison.Ordinal))
                        {
                            measuring.TrySetResult(); // the level is being measured: a stop now leaves an interrupted level
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stopWatching.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);

        var commands = app.Services.GetRequiredService<ResourceCommandService>();
        var start = await commands.ExecuteCommandAsync(loadTest, KnownResourceCommands.StartCommand, timeout.Token);
        Assert.True(start.Success, start.Message);
        await measuring.Task.WaitAsync(timeout.Token);

        var stopwatch = Stopwatch.StartNew();
        var stop = await commands.ExecuteCommandAsync(loadTest, KnownResourceCommands.StopCommand, timeout.Token);
        Assert.True(stop.Success, $"Stop failed after {stopwatch.Elapsed.TotalSeconds:0.0} s: {stop.Message}");
        var finished = await app.ResourceNotifications.WaitForResourceAsync("loadtest",
            e => e.Snapshot.State?.Text is { } state && (KnownResourceStates.TerminalStates.Contains(state) || state == "Unknown"), timeout.Token);
        stopwatch.Stop();

        Assert.Equal(KnownResourceStates.Finished, finished.Snapshot.State?.Text);
        Assert.Equal(143, finished.Snapshot.ExitCode);
        Assert.True(stopwatch.Elapsed < StopLimit, $"took {stopwatch.Elapsed.TotalSeconds:0.0} s to stop");

        // The log reaches the watcher a moment after the state does.
        var deadline = Stopwatch.StartNew();
        while (!lines.Any(l => l.Contains("reporting the finished levels and the interrupted one", StringComparison.Ordinal)) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100, timeout.Token);
        }
        await stopWatching.CancelAsync();
        await watch;
        var log = lines.ToList();
        Assert.Contains(log, l => l.Contains("SIGTERM: stopping, writing the partial results", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith("10,", StringComparison.Ordinal) && l.EndsWith(",interrupted", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("reporting the finished levels and the interrupted one", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains("did not stop within", StringComparison.Ordinal));
    }
}
