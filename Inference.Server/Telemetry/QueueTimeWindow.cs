using System.Diagnostics.Metrics;
using Inference.Server.Core;
using Inference.Server.Scheduling;

namespace Inference.Server.Telemetry;

/// <summary>
/// The gauge <see cref="MetricNames.QueueDurationAvgUs"/> (labels model, version): the average time, in microseconds,
/// that the successful requests completed in the trailing <see cref="Window"/> spent queued, that is
/// Δ<c>nv_inference_queue_duration_us</c> / Δ<c>nv_inference_request_success</c> over the window, and 0 when no request
/// completed in it. A Kubernetes HPA can scale on it as a per-pod gauge, without a rate to compute.
/// <para>
/// Sampling: every <see cref="SamplePeriod"/>, a timer of the clock registered under <see cref="ClockKey"/> (the server's
/// <see cref="TimeProvider"/> unless replaced) reads the cumulative <see cref="ModelStatistics.Queue"/> total and
/// <see cref="ModelStatistics.Success"/> count of every loaded version through <see cref="IInferenceServer.GetStatistics"/>
/// into that version's ring of the last <see cref="WindowSamples"/> + 1 samples, and computes
/// (queue_newest - queue_oldest) / (count_newest - count_oldest). A collection (a scrape, an OTLP export) only returns
/// the values of the last sample: every reader sees the same values whatever its rate, and the request path does no work.
/// </para>
/// <para>
/// Window: the requests recorded between the sample <see cref="WindowSamples"/> periods before the last one and the last
/// one, so the 30 s before the last sample, which is at most <see cref="SamplePeriod"/> old. A version seen for the first
/// time (loaded, or reloaded: a reload creates a new <see cref="ModelStatistics"/> whose counters restart at 0, told by the
/// object's identity rather than by a decrease) starts from an implicit zero sample, so until a whole window of samples has
/// been taken its value covers the requests since it loaded. A version no longer loaded at a sample loses its ring, and
/// its series is reported no more from that sample on; it has none before its first sample either.
/// </para>
/// <para>
/// A sample reads the queue total before the success count (the scheduler adds to the count first), so a request being
/// recorded at that instant may be counted without its queue time for one sample; the next sample includes it.
/// Thread-safe: samples and <see cref="Dispose"/> take one lock; collections read the last published values without it.
/// </para>
/// </summary>
public sealed class QueueTimeWindow : IDisposable
{
    /// <summary>How often the cumulative statistics are sampled.</summary>
    public static readonly TimeSpan SamplePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Sample periods in the window.</summary>
    public const int WindowSamples = 6;

    /// <summary>The trailing window the gauge averages over: <see cref="WindowSamples"/> sample periods, 30 s.</summary>
    public static readonly TimeSpan Window = SamplePeriod * WindowSamples;

    /// <summary>
    /// The service key of the <see cref="TimeProvider"/> whose timer drives the sampling; <see cref="InferenceTelemetryExtensions.AddInferenceTelemetry"/>
    /// registers the server's clock under it unless one is registered already (tests register a fake one).
    /// </summary>
    public const string ClockKey = "Inference.Server.Telemetry.QueueTimeWindow.Clock";

    private readonly Lock _lock = new();
    private readonly IInferenceServer _server;
    private readonly ITimer _timer;
    private Dictionary<(string Model, string Version), Ring> _rings = [];
    private Measurement<double>[] _published = [];
    private bool _disposed;

    /// <summary>Creates the gauge and starts sampling: the first sample is taken one <see cref="SamplePeriod"/> from now.</summary>
    public QueueTimeWindow(IMeterFactory meterFactory, IInferenceServer server, [FromKeyedServices(ClockKey)] TimeProvider clock)
    {
        _server = server;
        meterFactory.Create(MetricNames.Meter).CreateObservableGauge<double>(MetricNames.QueueDurationAvgUs,
            () => Volatile.Read(ref _published), unit: null,
            "Average time successful requests spent queued over the last 30 s, in microseconds; 0 when none completed");
        _timer = clock.CreateTimer(static state => ((QueueTimeWindow)state!).Sample(), this, SamplePeriod, SamplePeriod);
    }

    /// <summary>Stops sampling; from then on the gauge reports nothing.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _rings = [];
            Volatile.Write(ref _published, []);
        }
        _timer.Dispose();
    }

    private void Sample()
    {
        lock (_lock)
        {
            if (_disposed || _server.GetStatistics() is not { IsSuccess: true } result)
            {
                return;
            }
            var rings = new Dictionary<(string Model, string Version), Ring>(result.Value!.Count);
            var published = new Measurement<double>[result.Value.Count];
            var i = 0;
            foreach (var e in result.Value)
            {
                var key = (e.Name, e.Version);
                if (!_rings.TryGetValue(key, out var ring) || !ReferenceEquals(ring.Statistics, e.Statistics))
                {
                    ring = new Ring(e.Statistics);
                }
                rings[key] = ring;
                var queueNs = e.Statistics.Queue.TotalNs;
                var count = e.Statistics.Success.Count;
                published[i++] = new Measurement<double>(ring.Add(count, queueNs),
                    new KeyValuePair<string, object?>(MetricNames.ModelLabel, e.Name),
                    new KeyValuePair<string, object?>(MetricNames.VersionLabel, e.Version));
            }
            _rings = rings;
            Volatile.Write(ref _published, published);
        }
    }

    /// <summary>
    /// The last <see cref="WindowSamples"/> + 1 samples of one version's cumulative success count and queue total (ns),
    /// starting with an implicit zero sample (its counters' value at load). Not thread-safe: used under the owner's lock.
    /// </summary>
    private sealed class Ring(ModelStatistics statistics)
    {
        private readonly (long Count, long QueueNs)[] _samples = new (long, long)[WindowSamples + 1];
        private int _newest;
        private int _length = 1;

        /// <summary>The statistics sampled: another object under the same model and version means a reload.</summary>
        public ModelStatistics Statistics { get; } = statistics;

        /// <summary>Adds a sample, dropping the oldest when full, and returns the window's average queue time in µs (0 without requests).</summary>
        public double Add(long count, long queueNs)
        {
            _newest = (_newest + 1) % _samples.Length;
            _samples[_newest] = (count, queueNs);
            _length = Math.Min(_length + 1, _samples.Length);
            var oldest = _samples[(_newest - _length + 1 + _samples.Length) % _samples.Length];
            var requests = count - oldest.Count;
            return requests <= 0 ? 0 : (queueNs - oldest.QueueNs) / 1000.0 / requests;
        }
    }
}
