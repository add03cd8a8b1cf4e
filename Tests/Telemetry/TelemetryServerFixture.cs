using Inference.Server.ModelTools;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Telemetry;

/// <summary>
/// The real server over identity models: <c>counted</c>, <c>bucketed</c> and <c>twin</c>, one per test (FP32 [batch,16], dynamic batching without delay, so
/// sequential requests run one execution each) and <c>held</c> (waits up to 60 s to form a batch and queues at
/// most one request, so a second request is rejected while the first waits).
/// </summary>
public sealed class TelemetryServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _repository = new();

    public ServerHost Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        foreach (var name in new[] { "counted", "bucketed", "twin" })
        {
            IdentityModelBuilder.Write(_repository.Path, name, width: 16, maxBatchSize: 8, maxQueueDelayMicroseconds: 0);
        }
        IdentityModelBuilder.Write(_repository.Path, "held", width: 16, maxBatchSize: 64, maxQueueDelayMicroseconds: 60_000_000, maxQueueSize: 1);
        // KIND_AUTO: on a machine without a usable GPU its instance falls back to CPU (nv_inference_gpu_fallback_instances).
        var auto = IdentityModelBuilder.Write(_repository.Path, "auto", width: 16, maxBatchSize: 8, maxQueueDelayMicroseconds: 0);
        var config = Path.Combine(auto, "config.pbtxt");
        File.WriteAllText(config, File.ReadAllText(config).Replace("kind: KIND_CPU", "kind: KIND_AUTO", StringComparison.Ordinal));
        Server = await ServerHost.StartAsync(_repository.Path);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _repository.Dispose();
    }
}
