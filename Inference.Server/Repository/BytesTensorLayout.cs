using System.Buffers.Binary;

namespace Inference.Server.Repository;

/// <summary>Checks Triton's raw BYTES layout: each element is a 4-byte little-endian length and that many bytes.
/// Allocation-free on success.</summary>
public static class BytesTensorLayout
{
    /// <summary>Walks the elements; false when a length prefix is truncated or points past the end
    /// (<paramref name="problem"/> says where). On success <paramref name="count"/> is the element count.</summary>
    public static bool TryCountElements(ReadOnlySpan<byte> data, out long count, out string? problem)
    {
        count = 0;
        problem = null;
        int offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < 4)
            {
                problem = $"element {count} has a truncated 4-byte length prefix at byte {offset} of {data.Length}";
                return false;
            }
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            offset += 4;
            if (length > (uint)(data.Length - offset))
            {
                problem = $"element {count} declares {length} bytes at byte {offset}, but only {data.Length - offset} remain";
                return false;
            }
            offset += (int)length;
            count++;
        }
        return true;
    }
}
