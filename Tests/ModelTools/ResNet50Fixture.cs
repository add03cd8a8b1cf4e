using Inference.Server.ModelTools;

namespace Inference.Tests.ModelTools;

/// <summary>The default repository (full ResNet-50, ~100 MB) generated once into a temporary cache folder
/// and shared by the tests of one class.</summary>
public sealed class ResNet50Fixture : IDisposable
{
    private readonly TempDirectory _cache = new();

    public ResNet50Fixture()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        RepositoryPath = DefaultModelRepository.EnsureCreated(_cache.Path);
        GenerationTime = started.Elapsed;
    }

    public string CacheRoot => _cache.Path;

    public string RepositoryPath { get; }

    public TimeSpan GenerationTime { get; }

    public string ModelPath => Path.Combine(RepositoryPath, "resnet50", "1", "model.onnx");

    public void Dispose() => _cache.Dispose();
}
