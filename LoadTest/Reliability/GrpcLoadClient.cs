using Grpc.Core;
using Grpc.Net.Client;
using Inference.Server.Protos;
using LoadTest.Clients;

namespace LoadTest.Reliability;

/// <summary>Good ModelInfer requests (raw contents) over a few HTTP/2 channels used round-robin. UNAVAILABLE counts as a
/// rejection only when the server sent it: a status Grpc.Net.Client made up for a failed connection is a loss.</summary>
public sealed class GrpcLoadClient : ILoadClient
{
    private readonly GrpcChannel[] _channels;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient[] _clients;
    private readonly SeedRequests _seeds;
    private int _next;

    public GrpcLoadClient(Uri server, SeedRequests seeds, int channels = 2)
    {
        _seeds = seeds;
        _channels = [.. Enumerable.Range(0, Math.Max(1, channels)).Select(_ => GrpcInferClient.CreateChannel(server))];
        _clients = [.. _channels.Select(c => new GRPCInferenceService.GRPCInferenceServiceClient(c))];
    }

    public string Protocol => "grpc";

    public async Task<LoadResult> SendAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = _clients[(uint)Interlocked.Increment(ref _next) % _clients.Length];
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var response = await client.ModelInferAsync(_seeds.Grpc, cancellationToken: cts.Token).ConfigureAwait(false);
            var invalid = GrpcInferClient.Validate(response, _seeds.Validator);
            return invalid is null ? LoadResult.Ok : new LoadResult(LoadResultKind.Error, invalid);
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var outcome = GrpcOutcome.From(e, cts.IsCancellationRequested);
            return outcome.Status switch
            {
                null => new LoadResult(LoadResultKind.Lost, outcome.Transport == "timeout" ? "timeout" : $"transport-{e.StatusCode}-{e.Status.DebugException?.GetType().Name}"),
                StatusCode.Unavailable => new LoadResult(LoadResultKind.Rejected, "grpc-Unavailable"),
                { } s => new LoadResult(LoadResultKind.Error, "grpc-" + s),
            };
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var c in _channels)
        {
            c.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
