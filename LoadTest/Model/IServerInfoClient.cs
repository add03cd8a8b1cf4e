namespace LoadTest.Model;

/// <summary>The server's metadata, config and statistics endpoints for one model, over the run's protocol.
/// Failures are returned as <c>null</c> with the reason in <paramref name="error"/>-style messages; callers
/// decide whether they can go on without them.</summary>
public interface IServerInfoClient : IDisposable
{
    /// <summary>Metadata plus max_batch_size from the config; throws <see cref="InvalidOperationException"/> with the
    /// server's answer when the model is unknown or not ready.</summary>
    Task<ModelInfo> GetModelInfoAsync(CancellationToken cancellationToken);

    /// <summary>Cumulative statistics of the model, or null when the server does not provide them.</summary>
    Task<ServerStatsSnapshot?> GetStatisticsAsync(CancellationToken cancellationToken);
}
