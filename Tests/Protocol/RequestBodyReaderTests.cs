using System.Buffers;
using Inference.Server.Core;
using Inference.Server.Protocol.Http;
using Microsoft.AspNetCore.Http;

namespace Inference.Tests.Protocol;

public sealed class RequestBodyReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpRequest Request(byte[] body, bool withLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = withLength ? body.Length : null;
        return context.Request;
    }

    [Fact]
    public async Task ReadAsync_WithAContentLength_FillsOneBufferOfTheServersPool()
    {
        var body = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var pool = new RecordingPool();

        var read = await RequestBodyReader.ReadAsync(Request(body, withLength: true), 1 << 20, Ct, pool);

        Assert.Equal([100_000], pool.Rented);
        using var buffer = read.Body!;
        Assert.Same(pool.Last, buffer);
        Assert.Equal(body, buffer.Memory.ToArray());
    }

    [Fact]
    public async Task ReadAsync_ChunkedOrWithoutAPool_UsesOrdinaryPooledMemory()
    {
        var body = new byte[5_000];
        var pool = new RecordingPool();

        var chunked = await RequestBodyReader.ReadAsync(Request(body, withLength: false), 1 << 20, Ct, pool);
        var noPool = await RequestBodyReader.ReadAsync(Request(body, withLength: true), 1 << 20, Ct);

        Assert.Empty(pool.Rented);
        using var a = chunked.Body!;
        using var b = noPool.Body!;
        Assert.IsType<PooledBuffer>(a);
        Assert.IsType<PooledBuffer>(b);
        Assert.Equal((5_000, 5_000), (a.Memory.Length, b.Memory.Length));
    }

    [Fact]
    public async Task ReadAsync_ABodyShorterThanItsContentLength_Is400_AndTheBufferGoesBack()
    {
        var pool = new RecordingPool();
        var request = Request(new byte[10], withLength: true);
        request.ContentLength = 20;

        var read = await RequestBodyReader.ReadAsync(request, 1 << 20, Ct, pool);

        Assert.Null(read.Body);
        Assert.Equal(StatusCodes.Status400BadRequest, read.Status);
        Assert.Contains("ended after 10 of 20 bytes", read.Message);
        Assert.True(pool.Last!.Disposed);
    }

    private sealed class RecordingPool : ITensorBufferPool
    {
        public List<int> Rented { get; } = [];

        public Owner? Last { get; private set; }

        public IMemoryOwner<byte> Rent(int length)
        {
            Rented.Add(length);
            return Last = new Owner(new byte[length]);
        }

        public sealed class Owner(byte[] bytes) : IMemoryOwner<byte>
        {
            public bool Disposed { get; private set; }

            public Memory<byte> Memory => bytes;

            public void Dispose() => Disposed = true;
        }
    }
}
