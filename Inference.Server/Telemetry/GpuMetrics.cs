using System.Diagnostics.Metrics;

namespace Inference.Server.Telemetry;

/// <summary>
/// Triton's GPU metrics read through NVML when collected, one series per GPU labelled <c>gpu_uuid</c>:
/// utilization (0..1), total and used memory (bytes), power draw and enforced limit (W), and energy consumed since
/// this object was created (J, a counter). Where NVML or a GPU is missing the instruments are not created at all,
/// so the metrics are absent rather than zero, and nothing throws. Thread-safe; <see cref="Dispose"/> shuts NVML
/// down, after which the callbacks report nothing.
/// </summary>
public sealed class GpuMetrics : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Nvml? _nvml;
    private readonly IReadOnlyList<NvmlDevice> _devices = [];
    private readonly ulong?[] _startEnergyMj = [];
    private bool _disposed;

    public GpuMetrics(IMeterFactory meterFactory) : this(meterFactory, Nvml.DefaultLibrary)
    {
    }

    /// <summary>Uses the NVML library at <paramref name="nvmlLibrary"/> (a name or a path).</summary>
    public GpuMetrics(IMeterFactory meterFactory, string nvmlLibrary)
    {
        var nvml = Nvml.TryOpen(nvmlLibrary);
        if (nvml is null)
        {
            return;
        }
        var devices = nvml.Devices();
        if (devices.Count == 0)
        {
            nvml.Dispose();
            return;
        }
        _nvml = nvml;
        _devices = devices;
        _startEnergyMj = [.. devices.Select(nvml.TotalEnergyMillijoules)];

        var meter = meterFactory.Create(MetricNames.Meter);
        meter.CreateObservableGauge(MetricNames.GpuUtilization, () => Observe(d => nvml.Utilization(d)), unit: null,
            "GPU utilization rate, 0.0 to 1.0");
        meter.CreateObservableGauge(MetricNames.GpuMemoryTotalBytes, () => Observe(d => (double?)nvml.MemoryInfo(d)?.Total), unit: null,
            "GPU total memory, in bytes");
        meter.CreateObservableGauge(MetricNames.GpuMemoryUsedBytes, () => Observe(d => (double?)nvml.MemoryInfo(d)?.Used), unit: null,
            "GPU used memory, in bytes");
        meter.CreateObservableGauge(MetricNames.GpuPowerUsage, () => Observe(d => nvml.PowerUsageWatts(d)), unit: null,
            "GPU power usage, in watts");
        meter.CreateObservableGauge(MetricNames.GpuPowerLimit, () => Observe(d => nvml.PowerLimitWatts(d)), unit: null,
            "GPU power management limit, in watts");
        meter.CreateObservableCounter(MetricNames.EnergyConsumption, () => ObserveAt(Energy), unit: null,
            "GPU energy consumption since the server started, in joules");
    }

    /// <summary>UUIDs of the GPUs reported; empty when NVML or a GPU is missing.</summary>
    public IReadOnlyList<string> GpuUuids => [.. _devices.Select(d => d.Uuid)];

    private double? Energy(int i) =>
        _nvml!.TotalEnergyMillijoules(_devices[i]) is { } now && _startEnergyMj[i] is { } start && now >= start
            ? (now - start) / 1000.0
            : null;

    private List<Measurement<double>> Observe(Func<NvmlDevice, double?> read) => ObserveAt(i => read(_devices[i]));

    private List<Measurement<double>> ObserveAt(Func<int, double?> read)
    {
        var result = new List<Measurement<double>>(_devices.Count);
        lock (_lock)
        {
            if (_disposed)
            {
                return result;
            }
            for (var i = 0; i < _devices.Count; i++)
            {
                if (read(i) is { } value)
                {
                    result.Add(new Measurement<double>(value, new KeyValuePair<string, object?>(MetricNames.GpuUuidLabel, _devices[i].Uuid)));
                }
            }
        }
        return result;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _nvml?.Dispose();
        }
    }
}
