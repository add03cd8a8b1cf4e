using Inference.Server.Core;
using Inference.Server.SharedMemory;

namespace Inference.Tests.SharedMemory;

/// <summary>The registry over real POSIX shared memory objects: mappings at any offset, bounds, the reference count that
/// keeps an unregistered region mapped while a window is out.</summary>
public sealed class SharedMemoryManagerTests
{
    [Fact]
    public void Window_SeesTheFileAtAnUnalignedOffset_AndWritesGoBackToIt()
    {
        using var file = new ShmFile(3 * 4096);
        file.Write(5000 + 7, [1f, 2f, 3f]);
        using var manager = new SharedMemoryManager();
        Assert.Null(manager.RegisterSystem("r", file.Key, 5000, 4096));

        using (var window = manager.Acquire("r", 7, 12).Value!)
        {
            Assert.Equal([1f, 2f, 3f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(window.Memory.Span).ToArray());
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(window.Memory.Span)[1] = 42f;
        }

        Assert.Equal([1f, 42f, 3f], file.ReadFloats(5007, 3));
    }

    [Fact]
    public void Unregister_WithAWindowOut_KeepsTheMappingUntilTheWindowIsDisposed()
    {
        using var file = new ShmFile(4096);
        using var manager = new SharedMemoryManager();
        Assert.Null(manager.RegisterSystem("r", file.Key, 0, 4096));
        var region = manager.Status(SharedMemoryKind.System, "r").Value!.Single();
        var window = manager.Acquire("r", 0, 16).Value!;

        manager.Unregister(SharedMemoryKind.System, "r");

        Assert.True(region.IsMapped);
        Assert.Equal(ErrorCode.NotFound, manager.Acquire("r", 0, 16).Error!.Code);
        Assert.Null(manager.RegisterSystem("r", file.Key, 0, 16));
        window.Memory.Span.Fill(1);
        ((IDisposable)window).Dispose();
        ((IDisposable)window).Dispose();
        Assert.False(region.IsMapped);
    }

    [Fact]
    public void Acquire_ChecksBoundsWithoutOverflow()
    {
        using var file = new ShmFile(4096);
        using var manager = new SharedMemoryManager();
        Assert.Null(manager.RegisterSystem("r", file.Key, 0, 100));

        Assert.Equal("Invalid offset for shared memory region: 'r' (offset 100, region of 100 bytes)", manager.Acquire("r", 100, 1).Error!.Message);
        Assert.StartsWith("Invalid offset + byte size", manager.Acquire("r", 50, ulong.MaxValue).Error!.Message);
        Assert.StartsWith("Invalid offset + byte size", manager.Acquire("r", 1, 100).Error!.Message);
        using var whole = manager.Acquire("r", 0, 100).Value!;
        Assert.Equal(100, whole.Length);
    }

    [Fact]
    public void Register_RangeBeyondTheObject_OrUlongOverflow_IsRefused()
    {
        using var file = new ShmFile(4096);
        using var manager = new SharedMemoryManager();

        Assert.StartsWith("failed to register shared memory region 'r': invalid args", manager.RegisterSystem("r", file.Key, 1, 4096)!.Message);
        Assert.StartsWith("failed to register shared memory region 'r': invalid args", manager.RegisterSystem("r", file.Key, ulong.MaxValue, 2)!.Message);
        Assert.Empty(manager.Status(SharedMemoryKind.System, "").Value!);
    }

    [Fact]
    public void Status_OfTheOtherKind_SaysWhatTheRegionIs()
    {
        using var file = new ShmFile(4096);
        using var manager = new SharedMemoryManager();
        Assert.Null(manager.RegisterSystem("r", file.Key, 0, 16));

        Assert.Equal("The region named 'r' is registered as system shared memory, not CUDA shared memory",
            manager.Status(SharedMemoryKind.Cuda, "r").Error!.Message);
        manager.Unregister(SharedMemoryKind.Cuda, "r");
        Assert.Single(manager.Status(SharedMemoryKind.System, "").Value!);
    }
}
