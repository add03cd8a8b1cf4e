using System.Diagnostics.Metrics;
using Inference.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Telemetry;

public sealed class GpuMetricsTests
{
    internal static readonly string[] GpuMetricNames =
    [
        "nv_gpu_utilization", "nv_gpu_memory_total_bytes", "nv_gpu_memory_used_bytes", "nv_gpu_power_usage",
        "nv_gpu_power_limit", "nv_energy_consumption",
    ];

    [Fact]
    public void Constructor_WithoutTheNvmlLibrary_PublishesNoInstrumentAndDoesNotThrow()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var published = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == MetricNames.Meter && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    lock (published)
                    {
                        published.Add(instrument.Name);
                    }
                }
            },
        };
        listener.Start();

        using var gpu = new GpuMetrics(factory, "libnvidia-ml-that-does-not-exist.so.1");

        Assert.Empty(gpu.GpuUuids);
        Assert.Empty(published);
    }

    [Fact]
    public void Constructor_WithTheDriverLibraryName_FindsDevicesExactlyWhenNvmlOpens()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var nvml = Nvml.TryOpen();
        using var gpu = new GpuMetrics(services.GetRequiredService<IMeterFactory>());

        var expected = nvml?.Devices().Select(d => d.Uuid).ToList() ?? [];
        Assert.Equal(expected, gpu.GpuUuids);
        Assert.All(gpu.GpuUuids, u => Assert.StartsWith("GPU-", u, StringComparison.Ordinal));
    }
}
