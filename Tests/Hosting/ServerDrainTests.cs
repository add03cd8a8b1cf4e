using Inference.Server.Hosting;
using Inference.Tests.ModelTools;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Inference.Tests.Hosting;

/// <summary>The drain's wait and the host's shutdown timeout; the drain of the real server under load is in
/// <c>EndToEnd/DrainTests</c>.</summary>
public sealed class ServerDrainTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WaitUntilIdle_WithNothingInFlight_ReturnsZeroAtOnce()
    {
        var wait = ServerDrain.WaitUntilIdleAsync(() => 0, TimeSpan.FromSeconds(30), new FakeTimeProvider(), Ct);
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(0, await wait);
    }

    [Fact]
    public async Task WaitUntilIdle_ReturnsZeroOnceTheLastRequestCompletes()
    {
        var time = new FakeTimeProvider();
        var inflight = 3;
        var wait = ServerDrain.WaitUntilIdleAsync(() => Volatile.Read(ref inflight), TimeSpan.FromSeconds(30), time, Ct);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(wait.IsCompleted);

        Volatile.Write(ref inflight, 0);
        var (result, at) = await AdvanceUntilDoneAsync(time, wait);
        Assert.Equal(0, result);
        Assert.True(at < TimeSpan.FromSeconds(30), $"returned at {at}, not before the timeout");
    }

    [Fact]
    public async Task WaitUntilIdle_GivesUpAtTheTimeout_ReturningWhatIsStillInFlight()
    {
        var time = new FakeTimeProvider();
        var wait = ServerDrain.WaitUntilIdleAsync(() => 2, TimeSpan.FromSeconds(1), time, Ct);
        var (result, at) = await AdvanceUntilDoneAsync(time, wait);
        Assert.Equal(2, result);
        Assert.True(at >= TimeSpan.FromSeconds(1), $"gave up at {at}, before the timeout");
    }

    [Fact]
    public async Task WaitUntilIdle_WithAZeroTimeout_DoesNotWait()
    {
        var wait = ServerDrain.WaitUntilIdleAsync(() => 5, TimeSpan.Zero, new FakeTimeProvider(), Ct);
        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(5, await wait);
    }

    [Fact]
    public async Task WaitUntilIdle_StopsWaitingWithoutThrowing_WhenTheHostGivesUp()
    {
        using var cts = new CancellationTokenSource();
        var wait = ServerDrain.WaitUntilIdleAsync(() => 4, TimeSpan.FromSeconds(30), new FakeTimeProvider(), cts.Token);
        await cts.CancelAsync();
        Assert.Equal(4, await wait.WaitAsync(Bound, Ct));
    }

    /// <summary>Advances <paramref name="time"/> a poll interval at a time (letting the wait's continuations run) until
    /// <paramref name="wait"/> completes; returns its result and the fake time elapsed by then (an upper bound: a
    /// continuation may run a step late, never early).</summary>
    private static async Task<(int Result, TimeSpan At)> AdvanceUntilDoneAsync(FakeTimeProvider time, Task<int> wait)
    {
        var start = time.GetTimestamp();
        for (var i = 0; i < 10_000 && !wait.IsCompleted; i++)
        {
            time.Advance(ServerDrain.PollInterval);
            await Task.Delay(1, Ct);
        }
        var at = time.GetElapsedTime(start);
        return (await wait.WaitAsync(Bound, Ct), at);
    }

    [Theory]
    [InlineData(30, 35)]
    [InlineData(1, 6)]
    [InlineData(0, 5)]
    [InlineData(-3, 5)]
    public void HostShutdownTimeout_IsTheExitTimeoutPlusTheListenerCloseGrace(int exitTimeoutSeconds, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), ServerDrain.HostShutdownTimeout(exitTimeoutSeconds));

    [Theory]
    [InlineData(null, 35)]
    [InlineData("7", 12)]
    public void AddInferenceServer_SetsTheHostShutdownTimeoutFromTheExitTimeout_AndRegistersTheDrain(string? flag, int expectedSeconds)
    {
        using var repository = new TempDirectory();
        string[] args = ["--model-repository=" + repository.Path, .. flag is null ? Array.Empty<string>() : ["--exit-timeout-secs=" + flag]];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, EnvironmentName = "Testing" });
        builder.Configuration.AddCommandLine(args, TritonCommandLine.SwitchMappings);
        builder.AddInferenceServer();
        using var app = builder.Build();
        var drain = app.Services.GetRequiredService<ServerDrain>();
        Assert.Contains(drain, app.Services.GetServices<IHostedService>());
        Assert.False(drain.IsDraining);

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }
}
