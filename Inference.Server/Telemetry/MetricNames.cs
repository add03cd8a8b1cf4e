namespace Inference.Server.Telemetry;

/// <summary>
/// The meter and instrument names the server publishes. Instrument names are the names that appear on
/// <c>/metrics</c> (the exporter is configured to add no <c>_total</c> or unit suffix, see docs/metrics.md).
/// </summary>
public static class MetricNames
{
    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> name: add it to a MeterProvider to export these metrics.</summary>
    public const string Meter = "Inference.Server";

    // Triton's per-model metrics (labels model, version; failure also reason).
    public const string RequestSuccess = "nv_inference_request_success";
    public const string RequestFailure = "nv_inference_request_failure";
    public const string InferenceCount = "nv_inference_count";
    public const string ExecutionCount = "nv_inference_exec_count";
    public const string RequestDurationUs = "nv_inference_request_duration_us";
    public const string QueueDurationUs = "nv_inference_queue_duration_us";
    public const string ComputeInputDurationUs = "nv_inference_compute_input_duration_us";
    public const string ComputeInferDurationUs = "nv_inference_compute_infer_duration_us";
    public const string ComputeOutputDurationUs = "nv_inference_compute_output_duration_us";
    public const string PendingRequestCount = "nv_inference_pending_request_count";

    // Triton's per-model response cache metrics (labels model, version; only versions that use the cache).
    public const string CacheHitsPerModel = "nv_cache_num_hits_per_model";
    public const string CacheMissesPerModel = "nv_cache_num_misses_per_model";
    public const string CacheHitDurationPerModel = "nv_cache_hit_duration_per_model";
    public const string CacheMissDurationPerModel = "nv_cache_miss_duration_per_model";

    // Triton's local cache metrics (server-wide gauges, no labels; only when the server has a cache).
    public const string CacheUtil = "nv_cache_util";
    public const string CacheNumEntries = "nv_cache_num_entries";
    public const string CacheNumLookups = "nv_cache_num_lookups";
    public const string CacheNumHits = "nv_cache_num_hits";
    public const string CacheNumMisses = "nv_cache_num_misses";
    public const string CacheNumEvictions = "nv_cache_num_evictions";
    public const string CacheLookupDuration = "nv_cache_lookup_duration";
    public const string CacheInsertionDuration = "nv_cache_insertion_duration";

    // Beyond Triton (labels model, version): instances of KIND_AUTO groups that run on CPU because no GPU could be used.
    public const string GpuFallbackInstances = "nv_inference_gpu_fallback_instances";

    // Beyond Triton (labels model, version): average queue time per successful request over a trailing window, in
    // microseconds, a gauge a Kubernetes HPA can scale on (see QueueTimeWindow).
    public const string QueueDurationAvgUs = "nv_inference_queue_duration_avg_us";

    // Histograms beyond Triton (labels model, version).
    public const string RequestDurationSeconds = "nv_inference_request_duration_seconds";
    public const string QueueDurationSeconds = "nv_inference_queue_duration_seconds";
    public const string ComputeInferDurationSeconds = "nv_inference_compute_infer_duration_seconds";
    public const string ExecutionBatchSize = "nv_inference_exec_batch_size";

    // Triton's GPU metrics through NVML (label gpu_uuid).
    public const string GpuUtilization = "nv_gpu_utilization";
    public const string GpuMemoryTotalBytes = "nv_gpu_memory_total_bytes";
    public const string GpuMemoryUsedBytes = "nv_gpu_memory_used_bytes";
    public const string GpuPowerUsage = "nv_gpu_power_usage";
    public const string GpuPowerLimit = "nv_gpu_power_limit";
    public const string EnergyConsumption = "nv_energy_consumption";

    // Triton's CPU metrics, from /proc (no labels).
    public const string CpuUtilization = "nv_cpu_utilization";
    public const string CpuMemoryTotalBytes = "nv_cpu_memory_total_bytes";
    public const string CpuMemoryUsedBytes = "nv_cpu_memory_used_bytes";

    /// <summary>Label names.</summary>
    public const string ModelLabel = "model";
    public const string VersionLabel = "version";
    public const string ReasonLabel = "reason";
    public const string GpuUuidLabel = "gpu_uuid";
}
