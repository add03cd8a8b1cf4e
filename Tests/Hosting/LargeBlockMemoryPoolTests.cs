using System.Net;
using Inference.Server.Hosting;
using Inference.Tests.EndToEnd;
using Inference.Tests.ModelTools;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Inference.Tests.Hosting;

/// <summary>The blocks Kestrel reads into (<see cref="LargeBlockMemoryPool"/>, <c>--read-block-bytes</c>).</summary>
public sealed class LargeBlockMemoryPoolTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void ABlockIsReused_AfterItsRenterDisposesIt_AndASecondDisposeDoesNotHandItOutTwice()
    {
        using var pool = new LargeBlockMemoryPool(65536, maxPooledBlocks: 8);
        var first = pool.Rent(4096);
        Assert.Equal(65536, first.Memory.Length);
        var memory = first.Memory;
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, pool.IdleBlocks);

        var again = pool.Rent();
        var other = pool.Rent();

        Assert.True(again.Memory.Equals(memory), "the returned block was not reused");
        Assert.False(other.Memory.Equals(memory), "one block was handed out twice");
        Assert.Equal(0, pool.IdleBlocks);
    }

    [Fact]
    public void AtMostTheCapOfIdleBlocksIsKept_AndALargerRentIsRefused()
    {
        using var pool = new LargeBlockMemoryPool(8192, maxPooledBlocks: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());

        Assert.Equal(2, pool.IdleBlocks);
        Assert.Equal(8192, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(8193));
    }

    [Fact]
    public void ReadBlockBytes_OutOfRange_IsAStartupErrorNamingTheKey()
    {
        Assert.Equal(64 * 1024, new InferenceServerOptions().ReadBlockBytes);
        Assert.Contains("Inference:ReadBlockBytes must be 0 (ASP.NET Core's pool) or 4096..1048576 (got 100).",
            new InferenceServerOptions { ReadBlockBytes = 100 }.Validate());
        Assert.Empty(new InferenceServerOptions { ReadBlockBytes = 0 }.Validate());
    }

    [Fact]
    public async Task TheServer_ReadsThroughItsOwnPool_AndZeroLeavesAspNetCoresInPlace()
    {
        using var repository = new TempDirectory();
        await using (var server = await ServerHost.StartAsync(repository.Path, "--read-block-bytes=131072"))
        {
            using var live = await server.Http.GetAsync("v2/health/live", Ct);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(server.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
            Assert.Equal(131072, factory.BlockBytes);
            Assert.True(factory.PoolsCreated > 0, "Kestrel made no pool from the server's factory");
        }
        await using (var server = await ServerHost.StartAsync(repository.Path, "--read-block-bytes=0"))
        {
            Assert.IsNotType<LargeBlockMemoryPoolFactory>(server.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
        }
    }
}
