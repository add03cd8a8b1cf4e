using Google.Protobuf;
using Grpc.Core;
using Inference.Server.Protos;

namespace LoadTest;

/// <summary>
/// The gRPC benchmarks' peer: ModelInfer and ModelStreamInfer on plain Grpc.AspNetCore that parse the request (as any
/// gRPC service must) and answer one FP32 output of a fixed size, with no model, batching or copies. The server's gRPC
/// overhead per request is measured as a ratio against this in the same run (bench/cpu/server-cpu.sh).
/// </summary>
public sealed class BareGrpcService(BareGrpcService.Reply reply) : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The reply a call gets, with the request's id (stream clients match on it): output <c>logits</c>, FP32
    /// [rows, elements] for the rows of the request's first input, the tensors and bytes built once per row count.</summary>
    public sealed class Reply(int elements)
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, (ModelInferResponse.Types.InferOutputTensor Output, ByteString Contents)> _byRows = new();

        public ModelInferResponse For(ModelInferRequest request)
        {
            var rows = request.Inputs.Count > 0 && request.Inputs[0].Shape.Count > 0 ? Math.Clamp(request.Inputs[0].Shape[0], 1, 4096) : 1;
            var (output, contents) = _byRows.GetOrAdd(rows, r => (
                new ModelInferResponse.Types.InferOutputTensor { Name = "logits", Datatype = "FP32", Shape = { r, elements } },
                ByteString.CopyFrom(new byte[r * elements * sizeof(float)])));
            return new ModelInferResponse { ModelName = "bare", Id = request.Id, Outputs = { output }, RawOutputContents = { contents } };
        }
    }

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        Task.FromResult(reply.For(request));

    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new ModelStreamInferResponse { InferResponse = reply.For(request) });
        }
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var metadata = new ModelMetadataResponse { Name = request.Name, Platform = "bare" };
        metadata.Versions.Add("1");
        var input = new ModelMetadataResponse.Types.TensorMetadata { Name = "pixels", Datatype = "UINT8" };
        input.Shape.Add(-1);
        input.Shape.Add(224);
        input.Shape.Add(224);
        input.Shape.Add(3);
        metadata.Inputs.Add(input);
        var output = new ModelMetadataResponse.Types.TensorMetadata { Name = "logits", Datatype = "FP32" };
        output.Shape.Add(-1);
        output.Shape.Add(1000);
        metadata.Outputs.Add(output);
        return Task.FromResult(metadata);
    }

    public override Task<ModelConfigResponse> ModelConfig(ModelConfigRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelConfigResponse { Config = new Inference.Server.Protos.ModelConfig { Name = request.Name, MaxBatchSize = 256 } });
}
