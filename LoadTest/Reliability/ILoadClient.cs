namespace LoadTest.Reliability;

/// <summary>How a request under load ended: served; rejected by the server's admission control (HTTP 503, gRPC
/// UNAVAILABLE from the server); any other error answer; or lost (no answer within the timeout, a reset, a closed
/// or refused connection).</summary>
public enum LoadResultKind
{
    Ok,
    Rejected,
    Error,
    Lost,
}

/// <summary>One request's end and a short label (<c>http-503</c>, <c>grpc-Unavailable</c>, <c>timeout</c>,
/// <c>transport: ...</c>) for the tables.</summary>
public readonly record struct LoadResult(LoadResultKind Kind, string Label)
{
    public static readonly LoadResult Ok = new(LoadResultKind.Ok, "ok");

    /// <summary>The client threw instead of answering (a break of <see cref="ILoadClient.SendAsync"/>'s contract):
    /// an error named by the exception's type.</summary>
    public bool Thrown { get; init; }

    public static LoadResult FromException(string protocol, Exception e) =>
        new(LoadResultKind.Error, $"{protocol}-exception-{e.GetType().Name}") { Thrown = true };
}

/// <summary>Sends one good request of a model and says how it ended; thread-safe, used by many workers at once.</summary>
public interface ILoadClient : IAsyncDisposable
{
    /// <summary>"http" or "grpc".</summary>
    string Protocol { get; }

    /// <summary>Sends one request; never throws for what the server or the network did (only when
    /// <paramref name="cancellationToken"/> fires).</summary>
    Task<LoadResult> SendAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
