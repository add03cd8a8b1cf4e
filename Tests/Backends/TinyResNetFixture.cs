using Inference.Server.ModelTools;
using Inference.Tests.ModelTools;

namespace Inference.Tests.Backends;

/// <summary>The tiny ResNet written once per test class into a temporary repository.</summary>
public sealed class TinyResNetFixture : IDisposable
{
    private readonly TempDirectory _temp = new();

    public TinyResNetFixture()
    {
        ModelFolder = DefaultModelRepository.WriteSmallModel(_temp.Path, "resnet_tiny", maxBatchSize: 8);
    }

    public string ModelFolder { get; }

    public string ModelPath => Path.Combine(ModelFolder, "1", "model.onnx");

    public TempDirectory Temp => _temp;

    public void Dispose() => _temp.Dispose();
}
