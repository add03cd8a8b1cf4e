namespace Inference.Server.Core;

/// <summary>
/// A named tensor over bytes: the internal currency between front-ends, scheduler and backends.
/// Fixed-size types are little-endian, row-major. BYTES elements use Triton's raw layout:
/// each element is a 4-byte little-endian length followed by that many bytes.
/// <see cref="Owner"/> (if any) keeps <see cref="Data"/> alive and is released by <see cref="Dispose"/>.
/// </summary>
public sealed class InferTensor(string name, DataType dataType, long[] shape, ReadOnlyMemory<byte> data, IDisposable? owner = null)
    : IDisposable
{
    public string Name { get; } = name;

    public DataType DataType { get; } = dataType;

    /// <summary>The full shape, including the batch dimension for batching models.</summary>
    public long[] Shape { get; } = shape;

    public ReadOnlyMemory<byte> Data { get; } = data;

    public IDisposable? Owner { get; private set; } = owner;

    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>Hands the owner of <see cref="Data"/> to the caller: this tensor no longer releases it.</summary>
    public IDisposable? TakeOwner()
    {
        var owner = Owner;
        Owner = null;
        return owner;
    }

    public void Dispose()
    {
        Owner?.Dispose();
        Owner = null;
    }
}
