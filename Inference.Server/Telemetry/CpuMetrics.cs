using System.Diagnostics.Metrics;

namespace Inference.Server.Telemetry;

/// <summary>
/// Triton's CPU metrics, read from Linux's /proc at each collection: <c>nv_cpu_utilization</c> (the share of CPU time
/// spent busy since the previous collection, 0..1; iowait counts as idle), <c>nv_cpu_memory_total_bytes</c> and
/// <c>nv_cpu_memory_used_bytes</c> (MemTotal - MemAvailable). Where /proc cannot be read (not Linux) the instruments are
/// not created, so the metrics are absent rather than zero. Thread-safe.
/// </summary>
public sealed class CpuMetrics
{
    private readonly Lock _lock = new();
    private readonly string _statPath;
    private readonly string _memInfoPath;
    private CpuTimes _previous;

    /// <summary>The last utilization computed; reported again when no CPU time has passed since (two scrapes within one
    /// clock tick), so the gauge does not vanish between them.</summary>
    private double? _last;

    public CpuMetrics(IMeterFactory meterFactory) : this(meterFactory, ProcStats.StatPath, ProcStats.MemInfoPath)
    {
    }

    /// <summary>Reads the two files at the given paths (for tests).</summary>
    public CpuMetrics(IMeterFactory meterFactory, string statPath, string memInfoPath)
    {
        _statPath = statPath;
        _memInfoPath = memInfoPath;
        if (ReadCpu() is not { } first || ReadMemory() is null)
        {
            return;
        }
        _previous = first;
        IsAvailable = true;
        var meter = meterFactory.Create(MetricNames.Meter);
        meter.CreateObservableGauge(MetricNames.CpuUtilization, ObserveUtilization, unit: null, "CPU utilization rate [0.0 - 1.0]");
        meter.CreateObservableGauge(MetricNames.CpuMemoryTotalBytes, () => Observe(m => m.Total), unit: null, "CPU total memory (RAM), in bytes");
        meter.CreateObservableGauge(MetricNames.CpuMemoryUsedBytes, () => Observe(m => m.Used), unit: null, "CPU used memory (RAM), in bytes");
    }

    /// <summary>True when /proc could be read at start and the metrics are published.</summary>
    public bool IsAvailable { get; }

    private CpuTimes? ReadCpu() => ProcStats.TryRead(_statPath) is { } text ? ProcStats.ParseCpuTimes(text) : null;

    private (ulong Total, ulong Used)? ReadMemory() => ProcStats.TryRead(_memInfoPath) is { } text ? ProcStats.ParseMemory(text) : null;

    private IEnumerable<Measurement<double>> ObserveUtilization()
    {
        if (ReadCpu() is not { } now)
        {
            return [];
        }
        double? utilization;
        lock (_lock)
        {
            utilization = now.UtilizationSince(_previous);
            if (utilization is not null)
            {
                _previous = now;
                _last = utilization;
            }
            utilization ??= _last;
        }
        return utilization is { } u ? [new Measurement<double>(u)] : [];
    }

    private IEnumerable<Measurement<double>> Observe(Func<(ulong Total, ulong Used), ulong> read) =>
        ReadMemory() is { } m ? [new Measurement<double>(read(m))] : [];
}
