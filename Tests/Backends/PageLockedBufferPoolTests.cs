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
    public void Rent_AtTheCapacity_CarvesAnIdleSlabOfAnotherSizeAgain()
    {
        var pool = Active(capacity: 16L * 1024 * 1024);
        var large = pool.Rent(9 * 1024 * 1024); // the only slab: one 12 MB block
        var slab = Address(large.Memory);
        large.Dispose();

        using (var image = pool.Rent(Image))     // no room for a new slab: the idle 12 MB slab becomes 192 KB blocks
        {
            Assert.True(pool.Contains(image.Memory));
            Assert.Equal(slab, Address(image.Memory));
            using var busy = pool.Rent(9 * 1024 * 1024); // the slab is in use now: ordinary memory
            Assert.False(pool.Contains(busy.Memory));
        }

        using var again = pool.Rent(9 * 1024 * 1024); // idle again: back to one 12 MB block
        Assert.True(pool.Contains(again.Memory));
        Assert.Equal(slab, Address(again.Memory));
        Assert.Single(_registered);
    }

    [Fact]
    public async Task Rent_MixedSizesFromManyThreadsAtASmallCapacity_NeverOverlapsTwoLiveBuffers()
    {
        // 32 MB for 150 KB, 1.2 MB and 9 MB requests: slabs are carved again and again while others are in use.
        var pool = Active(capacity: 32L * 1024 * 1024);
        int[] sizes = [Image, 8 * Image, 9 * 1024 * 1024];
        var pageLocked = 0;

        await Parallel.ForAsync(0, 8, async (thread, ct) =>
        {
            var random = new Random(thread);
            for (var i = 0; i < 300; i++)
            {
                using var buffer = pool.Rent(sizes[random.Next(sizes.Length)]);
                var mark = (byte)(thread * 31 + i);
                var span = buffer.Memory.Span;
                span.Fill(mark);
                if (pool.Contains(buffer.Memory))
                {
                    Interlocked.Increment(ref pageLocked);
                }
                await Task.Yield();
                Assert.True(buffer.Memory.Span.IndexOfAnyExcept(mark) < 0, "another live buffer wrote into this one");
            }
        });

        Assert.True(pageLocked > 0);
        Assert.True(pool.ReservedBytes <= 32L * 1024 * 1024);
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
