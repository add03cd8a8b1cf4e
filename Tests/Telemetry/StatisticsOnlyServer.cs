using Inference.Server.Core;
using Inference.Server.Scheduling;
using ModelConfig = Inference.Server.Protos.ModelConfig;

namespace Inference.Tests.Telemetry;

/// <summary>
/// An <see cref="IInferenceServer"/> that only answers <see cref="GetStatistics"/>, from versions a test loads,
/// reloads (fresh <see cref="ModelStatistics"/>, as the model manager does) and unloads. Thread-safe; every other
/// member throws.
/// </summary>
internal sealed class StatisticsOnlyServer : IInferenceServer
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<(string Name, string Version), ModelStatistics> _versions = [];

    /// <summary>Loads (or reloads) a version with counters at zero and returns its statistics.</summary>
    public ModelStatistics Load(string name, string version = "1")
    {
        var statistics = new ModelStatistics();
        lock (_lock)
        {
            _versions[(name, version)] = statistics;
        }
        return statistics;
    }

    public void Unload(string name, string version = "1")
    {
        lock (_lock)
        {
            _versions.Remove((name, version));
        }
    }

    public Result<IReadOnlyList<ModelStatisticsEntry>> GetStatistics(string? name = null, long version = -1)
    {
        lock (_lock)
        {
            return _versions.Select(v => new ModelStatisticsEntry(v.Key.Name, v.Key.Version, v.Value, PendingRequests: 0)).ToList();
        }
    }

    public ServerMetadata Metadata => throw new NotSupportedException();

    public bool IsLive => throw new NotSupportedException();

    public bool IsReady => throw new NotSupportedException();

    public bool IsModelReady(string name, long version = -1) => throw new NotSupportedException();

    public Result<ModelMetadata> GetModelMetadata(string name, long version = -1) => throw new NotSupportedException();

    public Result<ModelConfig> GetModelConfig(string name, long version = -1) => throw new NotSupportedException();

    public IReadOnlyList<RepositoryIndexEntry> GetRepositoryIndex(bool readyOnly = false) => throw new NotSupportedException();

    public Task<InferenceError?> LoadModelAsync(string name, string? configJson = null, IReadOnlyList<ModelFile>? files = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<InferenceError?> UnloadModelAsync(string name, bool unloadDependents = false, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<InferenceResult> InferAsync(InferenceRequest request) => throw new NotSupportedException();
}
