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

public sealed class DefaultModelRepositoryRaceTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task EnsureCreated_FourConcurrentCallers_AllGetOneCompleteRepositoryAndNoLeftovers()
    {
        const int callers = 4;
        using var everyoneIsWriting = new Barrier(callers);
        var writes = 0;
        void Write(string staging)
        {
            Interlocked.Increment(ref writes);
            DefaultModelRepository.WriteSmallModel(staging, "tiny");
            everyoneIsWriting.SignalAndWait(TimeSpan.FromSeconds(30)); // all stage before anyone renames
        }

        var paths = await Task.WhenAll(Enumerable.Range(0, callers).Select(_ =>
            Task.Run(() => DefaultModelRepository.EnsureCreated(_temp.Path, Write, "v1"))));

        Assert.Equal(callers, writes);
        Assert.All(paths, p => Assert.Equal(_temp.Combine("model-repository"), p));
        Assert.Equal(["model-repository"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
        Assert.True(File.Exists(Path.Combine(paths[0], "tiny", "1", "model.onnx")));
        Assert.True(File.Exists(Path.Combine(paths[0], "tiny", "config.pbtxt")));
    }

    [Fact]
    public void EnsureCreated_CurrentRepository_IsNotRewritten_StaleOneIsReplaced()
    {
        var writes = 0;
        void Write(string staging)
        {
            writes++;
            File.WriteAllText(Path.Combine(staging, "content.txt"), $"write {writes}");
        }

        var path = DefaultModelRepository.EnsureCreated(_temp.Path, Write, "v1");
        DefaultModelRepository.EnsureCreated(_temp.Path, Write, "v1");
        Assert.Equal(1, writes);

        DefaultModelRepository.EnsureCreated(_temp.Path, Write, "v2");

        Assert.Equal(2, writes);
        Assert.Equal("write 2", File.ReadAllText(Path.Combine(path, "content.txt")));
        Assert.Equal(["model-repository"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }
}
