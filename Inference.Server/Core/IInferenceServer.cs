using ModelConfig = Inference.Server.Protos.ModelConfig;
using Inference.Server.Scheduling;

namespace Inference.Server.Core;

/// <summary>
/// The server as the protocol front-ends see it (Triton's TRITONSERVER_Server in spirit): health, metadata,
/// configuration, statistics, repository control and inference. Front-ends translate wire formats to these
/// calls and back; they hold no model logic. Version arguments of -1 mean "the version policy's choice".
/// </summary>
public interface IInferenceServer
{
    ServerMetadata Metadata { get; }

    bool IsLive { get; }

    /// <summary>True when the start-up loads are done and, under strict readiness, every model meant to be served (named
    /// at start, or loaded successfully since and not unloaded) is ready; a failed load through the API never changes it.</summary>
    bool IsReady { get; }

    bool IsModelReady(string name, long version = -1);

    Result<ModelMetadata> GetModelMetadata(string name, long version = -1);

    /// <summary>The effective (auto-completed) config of a loaded model.</summary>
    Result<ModelConfig> GetModelConfig(string name, long version = -1);

    /// <summary>Statistics of every loaded version (name null), of one model, or of one version.</summary>
    Result<IReadOnlyList<ModelStatisticsEntry>> GetStatistics(string? name = null, long version = -1);

    /// <summary>Every model in the repository with each version's state (or only ready ones).</summary>
    IReadOnlyList<RepositoryIndexEntry> GetRepositoryIndex(bool readyOnly = false);

    /// <summary>Loads or reloads a model; <paramref name="configJson"/> (Triton's JSON form of ModelConfig)
    /// overrides config.pbtxt. With <paramref name="files"/> (Triton's model files in the load request) the model is
    /// loaded from those files instead of the repository, and <paramref name="configJson"/> is required. Returns null
    /// on success.</summary>
    Task<InferenceError?> LoadModelAsync(string name, string? configJson = null, IReadOnlyList<ModelFile>? files = null,
        CancellationToken cancellationToken = default);

    /// <summary>Unloads a model; <paramref name="unloadDependents"/> (Triton's unload_dependents) also unloads the composing
    /// models of an ensemble that no other ensemble needs and that were loaded only as its composing models.</summary>
    Task<InferenceError?> UnloadModelAsync(string name, bool unloadDependents = false, CancellationToken cancellationToken = default);

    /// <summary>Validates the request against the model and schedules it. Ownership of the request passes to
    /// the server in every case (it is disposed when done); the caller owns the returned response.</summary>
    ValueTask<InferenceResult> InferAsync(InferenceRequest request);
}

/// <summary>Server metadata of the KServe v2 protocol.</summary>
public sealed record ServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);

/// <summary>Model metadata of the KServe v2 protocol; shapes use -1 for variable dims (batch included).</summary>
public sealed record ModelMetadata(
    string Name,
    IReadOnlyList<string> Versions,
    string Platform,
    IReadOnlyList<TensorSignature> Inputs,
    IReadOnlyList<TensorSignature> Outputs);

public sealed record ModelStatisticsEntry(string Name, string Version, ModelStatistics Statistics, int PendingRequests);

/// <summary>A repository index row. State is one of UNKNOWN, READY, UNAVAILABLE, LOADING, UNLOADING.</summary>
public sealed record RepositoryIndexEntry(string Name, string Version, string State, string Reason);
