namespace LoadTest.Clients;

/// <summary>Sends one inference (the next of its prepared <see cref="Inputs.RequestTemplate"/>s, round-robin) and
/// validates the response. Thread-safe: every worker calls <see cref="InferAsync"/> concurrently.</summary>
public interface IInferClient : IAsyncDisposable
{
    /// <summary>Null on a valid response, else an error label: <c>grpc-Unavailable</c>, <c>http-503</c>,
    /// <c>transport-ConnectionError</c>, <c>invalid-response:shape</c>, ... Throws only
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.</summary>
    Task<string?> InferAsync(CancellationToken cancellationToken);
}
