using System.Numerics;
using System.Runtime.InteropServices;

namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// A growable byte buffer on the pinned object heap, so ONNX Runtime can read it in place through a raw
/// pointer. Grows (to the next power of two) only when a batch needs more than it holds, so it is allocated
/// once per instance in steady state. Single-threaded: owned by one model instance.
/// </summary>
internal sealed class PinnedStagingBuffer(long initialCapacity)
{
    private byte[] _array = Allocate(initialCapacity);

    public long Capacity => _array.LongLength;

    /// <summary>The first <paramref name="length"/> bytes, growing the buffer first if needed. A span taken
    /// earlier is stale after a call that grows.</summary>
    public Span<byte> Ensure(long length)
    {
        if (length > _array.LongLength)
        {
            _array = Allocate((long)BitOperations.RoundUpToPowerOf2((ulong)length));
        }
        return _array.AsSpan(0, checked((int)length));
    }

    /// <summary>Address of the first byte; stable until the next growth.</summary>
    public nint Pointer => Marshal.UnsafeAddrOfPinnedArrayElement(_array, 0);

    private static byte[] Allocate(long capacity) =>
        GC.AllocateUninitializedArray<byte>(checked((int)Math.Max(capacity, 64)), pinned: true);
}
