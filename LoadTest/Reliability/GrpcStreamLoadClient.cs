using LoadTest.Clients;

namespace LoadTest.Reliability;

/// <summary>Good requests on long-lived ModelStreamInfer streams (<see cref="GrpcStreamInferClient"/>: one stream per
/// channel, replies matched by id). On a stream the server rejects with an error_message reply (a rejection); a stream
/// that breaks with requests waiting loses them.</summary>
public sealed class GrpcStreamLoadClient(Uri server, SeedRequests seeds, int channels = 2) : ILoadClient
{
    private readonly GrpcStreamInferClient _client = new(server, seeds.Model.Name, "", [seeds.Template], seeds.Validator, channels);

    public string Protocol => "grpc-stream";

    public async Task<LoadResult> SendAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var error = await _client.InferAsync(cts.Token).ConfigureAwait(false);
            return error switch
            {
                null => LoadResult.Ok,
                "grpc-stream-error" => new LoadResult(LoadResultKind.Rejected, "grpc-stream-error-reply"),
                _ when error.StartsWith("grpc-", StringComparison.Ordinal) => new LoadResult(LoadResultKind.Lost, "grpc-stream-broken-" + error[5..]),
                _ => new LoadResult(LoadResultKind.Error, error),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new LoadResult(LoadResultKind.Lost, "timeout");
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
