using System.Diagnostics.Metrics;
using Inference.Server.Core;

namespace Inference.Server.Telemetry;

/// <summary>The gauge <see cref="MetricNames.QueueDurationAvgUs"/> (not implemented yet: it reports nothing).</summary>
public sealed class QueueTimeWindow : IDisposable
{
    /// <summary>How often the cumulative statistics are sampled.</summary>
    public static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Sample periods in the window.</summary>
    public const int WindowSamples = 6;

    /// <summary>The trailing window the gauge averages over: <see cref="WindowSamples"/> sample periods.</summary>
    public static readonly TimeSpan Window = SamplePeriod * WindowSamples;

    /// <summary>The service key of the <see cref="TimeProvider"/> that drives sampling.</summary>
    public const string ClockKey = "Inference.Server.Telemetry.QueueTimeWindow.Clock";

    public QueueTimeWindow(IMeterFactory meterFactory, IInferenceServer server, [FromKeyedServices(ClockKey)] TimeProvider clock)
    {
        _ = server;
        _ = clock;
        meterFactory.Create(MetricNames.Meter).CreateObservableGauge(MetricNames.QueueDurationAvgUs,
            () => Array.Empty<Measurement<double>>(), unit: null, "not implemented");
    }

    public void Dispose()
    {
    }
}
