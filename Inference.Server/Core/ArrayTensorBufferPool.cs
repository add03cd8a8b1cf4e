using System.Buffers;

namespace Inference.Server.Core;

/// <summary>The default <see cref="ITensorBufferPool"/>: <see cref="PooledBuffer"/>s from <see cref="ArrayPool{T}.Shared"/>.</summary>
public sealed class ArrayTensorBufferPool : ITensorBufferPool
{
    public static ArrayTensorBufferPool Instance { get; } = new();

    public IMemoryOwner<byte> Rent(int length) => PooledBuffer.Rent(length);
}
