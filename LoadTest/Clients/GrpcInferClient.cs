using Google.Protobuf;
using Grpc.Net.Client;
using Inference.Server.Protos;

namespace LoadTest.Clients;

/// <summary>KServe v2 gRPC ModelInfer with <c>raw_input_contents</c>, over a small pool of HTTP/2 channels
/// (round-robin) so many concurrent calls are not serialized on one connection.</summary>
public sealed class GrpcInferClient : IInferClient
{
    private readonly GrpcChannel[] _channels;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient[] _clients;
    private readonly ModelInferRequest _request;
    private int _next;

    public GrpcInferClient(Uri address, string model, InputSpec input, int channels)
    {
        _channels = [.. Enumerable.Range(0, Math.Max(channels, 1)).Select(_ => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        }))];
        _clients = [.. _channels.Select(c => new GRPCInferenceService.GRPCInferenceServiceClient(c))];
        _request = new ModelInferRequest { ModelName = model };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType };
        tensor.Shape.AddRange(input.Shape);
        _request.Inputs.Add(tensor);
        _request.RawInputContents.Add(ByteString.CopyFrom(input.Data));
        _request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = input.OutputName });
    }

    public async Task<string?> InferAsync(CancellationToken cancellationToken)
    {
        var client = _clients[(uint)Interlocked.Increment(ref _next) % _clients.Length];
        try
        {
            var response = await client.ModelInferAsync(_request, cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.RawOutputContents.Count == 1 && response.Outputs.Count == 1 ? null : "bad-response";
        }
        catch (Grpc.Core.RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return "grpc-" + e.StatusCode;
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
