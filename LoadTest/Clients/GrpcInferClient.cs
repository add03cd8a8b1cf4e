using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference.Server.Protos;
using LoadTest.Inputs;

namespace LoadTest.Clients;

/// <summary>KServe v2 gRPC ModelInfer with <c>raw_input_contents</c>, over a pool of HTTP/2 channels used round-robin
/// so concurrent calls are not serialized on one connection. Requests are built once and shared (protobuf messages
/// are safe to serialize concurrently when nobody mutates them).</summary>
public sealed class GrpcInferClient : IInferClient
{
    private readonly GrpcChannel[] _channels;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient[] _clients;
    private readonly ModelInferRequest[] _requests;
    private readonly ResponseValidator _validator;
    private int _nextChannel;
    private int _nextRequest;

    public GrpcInferClient(Uri address, string model, string version, IReadOnlyList<RequestTemplate> templates, ResponseValidator validator, int channels)
    {
        _validator = validator;
        _channels = [.. Enumerable.Range(0, Math.Max(channels, 1)).Select(_ => CreateChannel(address))];
        _clients = [.. _channels.Select(c => new GRPCInferenceService.GRPCInferenceServiceClient(c))];
        _requests = [.. templates.Select(t => Build(model, version, t))];
    }

    /// <summary>A channel of its own HTTP/2 connections, for messages up to 256 MiB.</summary>
    internal static GrpcChannel CreateChannel(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        MaxReceiveMessageSize = 256 * 1024 * 1024,
        MaxSendMessageSize = 256 * 1024 * 1024,
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionLifetime = Timeout.InfiniteTimeSpan },
    });

    internal static ModelInferRequest Build(string model, string version, RequestTemplate template)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        foreach (var input in template.Inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType };
            tensor.Shape.AddRange(input.Shape);
            request.Inputs.Add(tensor);
            request.RawInputContents.Add(ByteString.CopyFrom(input.Data));
        }
        foreach (var output in template.Outputs)
        {
            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output });
        }
        return request;
    }

    public async Task<string?> InferAsync(CancellationToken cancellationToken)
    {
        var client = _clients[(uint)Interlocked.Increment(ref _nextChannel) % _clients.Length];
        var request = _requests[(uint)Interlocked.Increment(ref _nextRequest) % _requests.Length];
        ModelInferResponse response;
        try
        {
            response = await client.ModelInferAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return "grpc-" + e.StatusCode;
        }
        return Validate(response, _validator);
    }

    /// <summary>Validates a ModelInfer response; outputs must come as raw contents, one per output, as Triton sends them.</summary>
    public static string? Validate(ModelInferResponse response, ResponseValidator validator)
    {
        if (response.RawOutputContents.Count != response.Outputs.Count)
        {
            return ResponseValidator.Malformed;
        }
        ulong seen = 0;
        Span<long> shape = stackalloc long[8];
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            if (output.Shape.Count > shape.Length)
            {
                return "invalid-response:shape";
            }
            for (var d = 0; d < output.Shape.Count; d++)
            {
                shape[d] = output.Shape[d];
            }
            var error = validator.CheckBinary(output.Name, output.Datatype, shape[..output.Shape.Count], response.RawOutputContents[i].Span, ref seen);
            if (error is not null)
            {
                return error;
            }
        }
        return validator.Complete(seen);
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
