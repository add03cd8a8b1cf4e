using Inference.Server.Caching;

namespace Inference.Tests.Caching;

/// <summary>--cache-config and --response-cache-byte-size as Triton parses them.</summary>
public sealed class ResponseCacheSettingsTests
{
    [Fact]
    public void LocalSize_IsTheCacheSize_AndNothingMeansNoCache()
    {
        Assert.Equal(1048576, ResponseCacheSettings.Parse(["local,size=1048576"], 0, out var errors));
        Assert.Empty(errors);
        Assert.Equal(0, ResponseCacheSettings.Parse([], 0, out errors));
        Assert.Empty(errors);
        Assert.Equal(4096, ResponseCacheSettings.Parse([], 4096, out errors));
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("size=1024", "No cache specified. --cache-config option format is <cache name>,<setting>=<value>. Got 'size=1024'.")]
    [InlineData("local,size", "--cache-config option format is '<cache name>,<setting>=<value>'. Got 'local,size'.")]
    [InlineData("local,size=", "--cache-config option format is '<cache name>,<setting>=<value>'. Got 'local,size='.")]
    [InlineData("redis,host=localhost", "--cache-config: cache implementation 'redis' is not available; this server implements the 'local' cache only.")]
    [InlineData("local,capacity=10", "--cache-config: the local cache has no setting 'capacity'; its one setting is 'size' (bytes).")]
    [InlineData("local,size=-1", "Failed to initialize LocalCache: 'size' must be a positive number of bytes. Got '-1'.")]
    [InlineData("local,size=0", "Failed to initialize LocalCache: 'size' must be a positive number of bytes. Got '0'.")]
    [InlineData("local,size=1MB", "Failed to initialize LocalCache: 'size' must be a positive number of bytes. Got '1MB'.")]
    public void BadCacheConfig_IsAnErrorNamingTheFlag(string arg, string message)
    {
        Assert.Equal(0, ResponseCacheSettings.Parse([arg], 0, out var errors));
        Assert.Equal(message, Assert.Single(errors));
    }

    [Fact]
    public void BothFlags_AreIncompatible()
    {
        ResponseCacheSettings.Parse(["local,size=1024"], 1024, out var errors);
        Assert.Equal("Incompatible flags --response-cache-byte-size and --cache-config both provided. Please provide one or the other.", Assert.Single(errors));
        ResponseCacheSettings.Parse([], -5, out errors);
        Assert.Equal("--response-cache-byte-size must be 0 (no cache) or more (got -5).", Assert.Single(errors));
    }
}
