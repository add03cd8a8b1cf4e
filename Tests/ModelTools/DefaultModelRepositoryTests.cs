using Inference.Server.ModelTools;

namespace Inference.Tests.ModelTools;

public sealed class DefaultModelRepositoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void WriteSmallModel_WritesTritonLayoutWithConfigModelAndLabels()
    {
        var folder = DefaultModelRepository.WriteSmallModel(_temp.Path, "tiny", maxBatchSize: 16);

        Assert.Equal(Path.Combine(_temp.Path, "tiny"), folder);
        Assert.True(File.Exists(Path.Combine(folder, "1", "model.onnx")));
        Assert.Equal(10, File.ReadAllLines(Path.Combine(folder, "labels.txt")).Length);
        var config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
        Assert.Contains("name: \"tiny\"", config);
        Assert.Contains("max_batch_size: 16", config);
        Assert.Contains("dims: [ 3, 64, 64 ]", config);
        Assert.Contains("dims: [ 10 ]", config);
        Assert.Contains("dynamic_batching {", config);
    }

    [Fact]
    public void ResolveCacheRoot_PrefersTheEnvironmentVariable()
    {
        var previous = Environment.GetEnvironmentVariable(DefaultModelRepository.CacheEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(DefaultModelRepository.CacheEnvironmentVariable, _temp.Path);
            Assert.Equal(_temp.Path, DefaultModelRepository.ResolveCacheRoot());
            Environment.SetEnvironmentVariable(DefaultModelRepository.CacheEnvironmentVariable, null);
            Assert.EndsWith(Path.DirectorySeparatorChar + "aspire-inference", DefaultModelRepository.ResolveCacheRoot());
        }
        finally
        {
            Environment.SetEnvironmentVariable(DefaultModelRepository.CacheEnvironmentVariable, previous);
        }
    }
}
