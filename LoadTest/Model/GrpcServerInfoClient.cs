using Grpc.Core;
using Grpc.Net.Client;
using Inference.Server.Protos;

namespace LoadTest.Model;

/// <summary><see cref="IServerInfoClient"/> over KServe v2 gRPC (ModelMetadata, ModelConfig, ModelStatistics).</summary>
public sealed class GrpcServerInfoClient(Uri address, string model, string version) : IServerInfoClient
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(address);

    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(_channel);

    public async Task<ModelInfo> GetModelInfoAsync(CancellationToken cancellationToken)
    {
        try
        {
            var meta = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = model, Version = version }, cancellationToken: cancellationToken);
            var config = await Client.ModelConfigAsync(new ModelConfigRequest { Name = model, Version = version }, cancellationToken: cancellationToken);
            static TensorInfo Map(ModelMetadataResponse.Types.TensorMetadata t) => new(t.Name, t.Datatype, [.. t.Shape]);
            return new ModelInfo(meta.Name, [.. meta.Inputs.Select(Map)], [.. meta.Outputs.Select(Map)], config.Config.MaxBatchSize);
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"model '{model}' metadata over gRPC: {e.StatusCode} {e.Status.Detail}", e);
        }
    }

    public async Task<ServerStatsSnapshot?> GetStatisticsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var r = await Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model, Version = version }, cancellationToken: cancellationToken);
            return ServerStatsSnapshot.Sum(r.ModelStats);
        }
        catch (RpcException)
        {
            return null;
        }
    }

    public void Dispose() => _channel.Dispose();
}
