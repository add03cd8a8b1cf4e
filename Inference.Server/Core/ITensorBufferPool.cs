using System.Buffers;

namespace Inference.Server.Core;

/// <summary>
/// Where the front-ends put the bytes of received tensors. The default (<see cref="ArrayTensorBufferPool"/>) rents
/// from <see cref="ArrayPool{T}.Shared"/>; a GPU server installs a pool of page-locked memory that the device copies
/// from directly, so a batch needs no gather on the host. Thread-safe.
/// </summary>
public interface ITensorBufferPool
{
    /// <summary>A buffer whose <see cref="IMemoryOwner{T}.Memory"/> is exactly <paramref name="length"/> bytes;
    /// disposing it (once) gives it back.</summary>
    IMemoryOwner<byte> Rent(int length);
}
