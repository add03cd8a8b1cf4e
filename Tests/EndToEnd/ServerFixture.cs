using Inference.Server.ModelTools;
using Inference.Tests.ModelTools;

namespace Inference.Tests.EndToEnd;

/// <summary>
/// One real server (model control mode none, strict readiness off) over a repository holding:
/// <c>resnet_tiny</c> (the small ResNet, max batch 8, dynamic batching with preferred sizes 2 and 4),
/// <c>identity</c> (FP32 [batch,16], dynamic batching), <c>queue_limited</c> (identity that waits up to a
/// second to form a batch and queues at most 2 requests) and <c>broken</c> (a model file that is not ONNX).
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _repository = new();

    public ServerHost Server { get; private set; } = null!;

    public string RepositoryPath => _repository.Path;

    public string TinyModelPath => Path.Combine(_repository.Path, "resnet_tiny", "1", "model.onnx");

    public const long MaxBodyBytes = 4 * 1024 * 1024;

    public async ValueTask InitializeAsync()
    {
        DefaultModelRepository.WriteSmallModel(_repository.Path, "resnet_tiny", maxBatchSize: 8);
        IdentityModelBuilder.Write(_repository.Path, "identity", width: 16, maxBatchSize: 8);
        IdentityModelBuilder.Write(_repository.Path, "queue_limited", width: 16, maxBatchSize: 64, maxQueueDelayMicroseconds: 1_000_000, maxQueueSize: 2);
        Directory.CreateDirectory(Path.Combine(_repository.Path, "broken", "1"));
        await File.WriteAllTextAsync(Path.Combine(_repository.Path, "broken", "1", "model.onnx"), "this is not an onnx file");
        Server = await ServerHost.StartAsync(_repository.Path, "--strict-readiness=false", $"--max-request-body-bytes={MaxBodyBytes}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _repository.Dispose();
    }
}
