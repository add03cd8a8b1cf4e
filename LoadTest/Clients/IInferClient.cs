namespace LoadTest.Clients;

/// <summary>Sends one inference and reports whether the response was valid. Implementations are
/// thread-safe; each concurrent worker calls <see cref="InferAsync"/> in a loop.</summary>
public interface IInferClient : IAsyncDisposable
{
    /// <summary>Returns null on success, else an error label (status code or validation failure).</summary>
    Task<string?> InferAsync(CancellationToken cancellationToken);
}
