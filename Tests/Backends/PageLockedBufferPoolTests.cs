using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Inference.Server.Backends.OnnxRuntime;
using Inference.Server.Core;

namespace Inference.Tests.Backends;

/// <summary>The pool's bookkeeping with a stand-in for cudaHostRegister (CI has no GPU; the H100 runs the real one).</summary>
public sealed class PageLockedBufferPoolTests
{
    private const int Image = 224 * 224 * 3;

    private readonly List<(nint Address, long Bytes)> _registered = [];

    private PageLockedBufferPool Active(long capacity = 256L * 1024 * 1024, bool registers = true)
    {
        var pool = new PageLockedBufferPool(capacity);
        pool.Activate((address, bytes) =>
        {
            _registered.Add((address, bytes));
            return registers;
        });
        return pool;
    }

    [Theory]
    [InlineData(1, 64 * 1024)]
    [InlineData(64 * 1024 + 1, 96 * 1024)]
    [InlineData(Image, 192 * 1024)]
    [InlineData(8 * Image, 1536 * 1024)]
    [InlineData(64 * Image, 12 * 1024 * 1024)]
    [InlineData(16 * 1024 * 1024, 16 * 1024 * 1024)]
    [InlineData(16 * 1024 * 1024 + 1, -1)]
    public void SizeClass_IsTheSmallestPowerOfTwoOrOneAndAHalfTimesOneThatHolds(int length, int expected) =>
        Assert.Equal(expected, PageLockedBufferPool.SizeClass(length));

    [Fact]
    public void Rent_BeforeActivation_HandsOutOrdinaryPooledBuffers()
    {
        var pool = new PageLockedBufferPool(256L * 1024 * 1024);

        using var buffer = pool.Rent(Image);

        Assert.IsType<PooledBuffer>(buffer);
        Assert.Equal(Image, buffer.Memory.Length);
        Assert.False(pool.Contains(buffer.Memory));
    }

    [Fact]
    public void Rent_WhenActive_CarvesRegisteredSlabs_AndContainsKnowsTheirBytes()
    {
        var pool = Active();

        using var a = pool.Rent(Image);
        using var b = pool.Rent(Image);

        Assert.Equal((Image, Image), (a.Memory.Length, b.Memory.Length));
        Assert.True(pool.Contains(a.Memory));
        Assert.True(pool.Contains(b.Memory));
        var slab = Assert.Single(_registered);
        Assert.Equal(16L * 1024 * 1024 / (192 * 1024) * (192 * 1024), slab.Bytes);
        Assert.Equal(slab.Bytes, pool.ReservedBytes);
        Assert.NotEqual(Address(a.Memory), Address(b.Memory));
        Assert.False(pool.Contains(new byte[Image]));
        Assert.False(pool.Contains(Address(a.Memory) + (nint)slab.Bytes, 1));
    }

    [Fact]
    public void Dispose_GivesTheBlockBackOnce()
    {
        var pool = Active();
        var a = pool.Rent(Image);
        var address = Address(a.Memory);

        a.Dispose();
        a.Dispose();
        using var b = pool.Rent(Image);
        using var c = pool.Rent(Image);

        Assert.Equal(address, Address(b.Memory));
        Assert.NotEqual(address, Address(c.Memory));
        Assert.Throws<ObjectDisposedException>(() => a.Memory);
    }

    [Fact]
    public void Rent_SmallTensorsOrPastTheCapacity_FallBackToOrdinaryBuffers()
    {
        var pool = Active(capacity: 16L * 1024 * 1024);

        using var small = pool.Rent(1000);
        using var first = pool.Rent(9 * 1024 * 1024);   // a 12 MB block: one slab of 12 MB
        using var second = pool.Rent(9 * 1024 * 1024);  // another slab would pass 16 MB
        using var huge = pool.Rent(20 * 1024 * 1024);   // larger than a slab

        Assert.False(pool.Contains(small.Memory));
        Assert.True(pool.Contains(first.Memory));
        Assert.False(pool.Contains(second.Memory));
        Assert.False(pool.Contains(huge.Memory));
        Assert.Equal(20 * 1024 * 1024, huge.Memory.Length);
    }

    [Fact]
    public void Rent_WhenRegistrationFails_ServesOrdinaryMemoryFromThenOn()
    {
        var pool = Active(registers: false);

        using var a = pool.Rent(Image);
        using var b = pool.Rent(Image);

        Assert.False(pool.Contains(a.Memory));
        Assert.False(pool.IsActive);
        Assert.Single(_registered);
        Assert.Equal(0, pool.ReservedBytes);
    }

    [Fact]
    public async Task Rent_FromManyThreads_NeverHandsOutABlockTwice()
    {
        var pool = Active();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<nint, int>();

        await Parallel.ForAsync(0, 8, async (_, ct) =>
        {
            for (var i = 0; i < 500; i++)
            {
                using var buffer = pool.Rent(Image);
                var address = Address(buffer.Memory);
                Assert.True(seen.TryAdd(address, 0), "a block was handed out while in use");
                buffer.Memory.Span[0] = 1;
                await Task.Yield();
                seen.TryRemove(address, out _);
            }
        });

        Assert.All(_registered, r => Assert.True(r.Bytes > 0));
    }

    private static unsafe nint Address(ReadOnlyMemory<byte> memory) =>
        (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(memory.Span));
}
