using System.Diagnostics.Metrics;
using Inference.Server.Scheduling;
using Inference.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Inference.Tests.Telemetry;

/// <summary>
/// The window math of <c>nv_inference_queue_duration_avg_us</c>: statistics a test writes, a fake clock that drives the
/// sampling, and the gauge read as an exporter reads it (a <see cref="MeterListener"/> collecting the instrument).
/// </summary>
public sealed class QueueTimeWindowTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _clock = new();
    private readonly StatisticsOnlyServer _server = new();
    private readonly QueueTimeWindow _window;

    public QueueTimeWindowTests()
    {
        _window = new QueueTimeWindow(_services.GetRequiredService<IMeterFactory>(), _server, _clock);
    }

    public void Dispose()
    {
        _window.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void TheWindow_IsThirtySecondsOfFiveSecondSamples()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), QueueTimeWindow.SamplePeriod);
        Assert.Equal(TimeSpan.FromSeconds(30), QueueTimeWindow.Window);
        Assert.Equal(QueueTimeWindow.Window, QueueTimeWindow.SamplePeriod * QueueTimeWindow.WindowSamples);
    }

    [Fact]
    public void ALoadedVersion_HasNoSeriesBeforeTheFirstSample_AndReadsZeroWhileIdle()
    {
        _server.Load("m");
        Assert.Empty(Collect());

        Tick();
        Assert.Equal(0, Collect()[("m", "1")]);

        Tick(QueueTimeWindow.WindowSamples);
        Assert.Equal(0, Collect()[("m", "1")]);
    }

    [Fact]
    public void SteadyTraffic_AveragesTheRequestsOfTheLastSixPeriods_AndDecaysToZeroOnceIdleForAWholeWindow()
    {
        var m = _server.Load("m");
        // Periods 1..6: 10 requests queued 1 ms each; the first sample counts from the load (counters start at 0).
        for (var period = 1; period <= 6; period++)
        {
            Succeed(m, 10, TimeSpan.FromMilliseconds(1));
            Tick();
            Assert.Equal(1000, Collect()[("m", "1")]);
        }
        // Periods 7..9 at 4 ms: the window (periods 4..9) holds three periods of each.
        for (var period = 7; period <= 9; period++)
        {
            Succeed(m, 10, TimeSpan.FromMilliseconds(4));
            Tick();
        }
        Assert.Equal(2500, Collect()[("m", "1")]);
        // Periods 10..12 at 4 ms: the 1 ms periods have left the window.
        for (var period = 10; period <= 12; period++)
        {
            Succeed(m, 10, TimeSpan.FromMilliseconds(4));
            Tick();
        }
        Assert.Equal(4000, Collect()[("m", "1")]);
        // Five idle periods: period 12 is still in the window, and the average is over requests, not time.
        Tick(5);
        Assert.Equal(4000, Collect()[("m", "1")]);
        Tick();
        Assert.Equal(0, Collect()[("m", "1")]);
    }

    [Fact]
    public void WeightsEachRequestEqually_NotEachPeriod()
    {
        var m = _server.Load("m");
        Succeed(m, 30, TimeSpan.FromMilliseconds(1));
        Tick();
        Succeed(m, 10, TimeSpan.FromMilliseconds(5));
        Tick();

        Assert.Equal((30 * 1000 + 10 * 5000) / 40.0, Collect()[("m", "1")]);
    }

    [Fact]
    public void TheValue_ChangesOnlyAtASample_SoEveryReaderAtAnyRateSeesTheSame()
    {
        var m = _server.Load("m");
        Succeed(m, 4, TimeSpan.FromMilliseconds(2));
        Tick();

        Succeed(m, 4, TimeSpan.FromMilliseconds(10));
        _clock.Advance(QueueTimeWindow.SamplePeriod / 2);
        var first = Collect();
        var second = Collect();
        Assert.Equal(2000, first[("m", "1")]);
        Assert.Equal(first, second);

        _clock.Advance(QueueTimeWindow.SamplePeriod / 2);
        Assert.Equal(6000, Collect()[("m", "1")]);
    }

    [Fact]
    public void AReload_RestartsTheWindowFromTheNewVersionsCounters()
    {
        var before = _server.Load("m");
        for (var period = 0; period < 3; period++)
        {
            Succeed(before, 10, TimeSpan.FromMilliseconds(1));
            Tick();
        }
        Assert.Equal(1000, Collect()[("m", "1")]);

        // Reloaded: counters restart, and within one period grow past the old ones (40 requests, 80 ms against 30, 30 ms),
        // so only the change of statistics, not a decrease, tells the reload. Differencing across it would give 5000.
        var after = _server.Load("m");
        Succeed(after, 40, TimeSpan.FromMilliseconds(2));
        Tick();
        Assert.Equal(2000, Collect()[("m", "1")]);

        Succeed(after, 10, TimeSpan.FromMilliseconds(7));
        Tick();
        Assert.Equal((40 * 2000 + 10 * 7000) / 50.0, Collect()[("m", "1")]);
    }

    [Fact]
    public void AnUnload_DropsTheVersionsSeries_AndALaterLoadStartsAfresh()
    {
        var a = _server.Load("a");
        var b = _server.Load("b", "2");
        Succeed(a, 10, TimeSpan.FromMilliseconds(8));
        Succeed(b, 10, TimeSpan.FromMilliseconds(1));
        Tick();
        Assert.Equal(8000, Collect()[("a", "1")]);

        _server.Unload("a");
        Succeed(b, 10, TimeSpan.FromMilliseconds(1));
        Tick();
        var afterUnload = Collect();
        Assert.Equal([("b", "2")], afterUnload.Keys);
        Assert.Equal(1000, afterUnload[("b", "2")]);

        a = _server.Load("a");
        Succeed(a, 10, TimeSpan.FromMilliseconds(3));
        Tick();
        Assert.Equal(3000, Collect()[("a", "1")]);
    }

    [Fact]
    public void AfterDispose_NothingIsSampledOrReported()
    {
        var m = _server.Load("m");
        Succeed(m, 1, TimeSpan.FromMilliseconds(1));
        Tick();
        Assert.Single(Collect());

        _window.Dispose();
        Succeed(m, 1, TimeSpan.FromMilliseconds(1));
        Tick();

        Assert.Empty(Collect());
    }

    private void Tick(int periods = 1)
    {
        for (var i = 0; i < periods; i++)
        {
            _clock.Advance(QueueTimeWindow.SamplePeriod);
        }
    }

    private static void Succeed(ModelStatistics statistics, int requests, TimeSpan queued)
    {
        var queueNs = (long)queued.TotalNanoseconds;
        for (var i = 0; i < requests; i++)
        {
            statistics.RecordSuccess(requestNs: queueNs + 1_000, queueNs, default);
        }
    }

    /// <summary>One collection of the gauge, by (model, version).</summary>
    private Dictionary<(string Model, string Version), double> Collect()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        var values = new Dictionary<(string, string), double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == MetricNames.QueueDurationAvgUs && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? model = null, version = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case MetricNames.ModelLabel:
                        model = (string?)tag.Value;
                        break;
                    case MetricNames.VersionLabel:
                        version = (string?)tag.Value;
                        break;
                }
            }
            Assert.True(values.TryAdd((model!, version!), value), $"two measurements for {model}/{version}");
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
