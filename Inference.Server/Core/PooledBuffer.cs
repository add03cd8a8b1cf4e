using System.Buffers;

namespace Inference.Server.Core;

/// <summary>
/// A byte buffer rented from <see cref="ArrayPool{T}.Shared"/> with an exact logical length.
/// Owned by exactly one tensor at a time; <see cref="Dispose"/> returns the array (idempotent).
/// </summary>
public sealed class PooledBuffer : IMemoryOwner<byte>
{
    private byte[]? _array;

    private PooledBuffer(byte[] array, int length)
    {
        _array = array;
        Length = length;
    }

    public static PooledBuffer Rent(int length) => new(ArrayPool<byte>.Shared.Rent(Math.Max(length, 1)), length);

    public int Length { get; }

    public Memory<byte> Memory => (_array ?? throw new ObjectDisposedException(nameof(PooledBuffer))).AsMemory(0, Length);

    public Span<byte> Span => Memory.Span;

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, null);
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
