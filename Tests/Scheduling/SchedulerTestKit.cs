using System.Threading.Channels;
using Inference.Server.Core;
using Inference.Server.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Inference.Tests.Scheduling;

/// <summary>Counts how often a request's input was released (exactly once per completed request).</summary>
internal sealed class DisposalCounter : IDisposable
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Dispose() => Interlocked.Increment(ref _count);
}

/// <summary>A fake clock that also reports every timer arming, so a test can wait until the scheduler decided to wait.</summary>
internal sealed class ObservableTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ObservedTimer(base.CreateTimer(callback, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan), _armed.Writer);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Waits for the next arming of a timer and returns its due time.</summary>
    public async Task<TimeSpan> NextArmingAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _armed.Reader.ReadAsync(cts.Token);
    }

    private sealed class ObservedTimer(ITimer inner, ChannelWriter<TimeSpan> armed) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                armed.TryWrite(dueTime);
            }
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

internal static class SchedulerTestKit
{
    public const string Model = "m";

    private static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(10);

    public static InferenceRequest Request(
        string id,
        int batchSize = 1,
        uint priority = 0,
        ulong timeoutUs = 0,
        CancellationToken? cancellationToken = null,
        DisposalCounter? disposals = null,
        TimeProvider? time = null)
    {
        var request = new InferenceRequest
        {
            ModelName = Model,
            Id = id,
            Priority = priority,
            TimeoutMicroseconds = timeoutUs,
            CancellationToken = cancellationToken ?? CancellationToken.None,
            BatchSize = batchSize,
            ReceivedTimestamp = (time ?? TimeProvider.System).GetTimestamp(),
        };
        request.Inputs.Add(new InferTensor("x", DataType.Fp32, [batchSize, 1], new byte[4 * batchSize], disposals));
        return request;
    }

    public static async Task<InferenceResult> Done(ValueTask<InferenceResult> pending) =>
        await pending.AsTask().WaitAsync(ResultTimeout);

    public static async Task<InferenceResponse> Succeeded(ValueTask<InferenceResult> pending)
    {
        var result = await Done(pending);
        Assert.True(result.IsSuccess, $"expected success, got {result.Error}");
        return result.Response!;
    }

    public static async Task<InferenceError> Failed(ValueTask<InferenceResult> pending)
    {
        var result = await Done(pending);
        Assert.False(result.IsSuccess, "expected a failure");
        return result.Error!;
    }

    public static string Describe(FakeInstance instance) =>
        string.Join(" ", instance.Batches.Select(b => "[" + string.Join(",", b) + "]"));
}
