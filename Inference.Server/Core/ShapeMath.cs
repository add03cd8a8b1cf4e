namespace Inference.Server.Core;

public static class ShapeMath
{
    /// <summary>Product of the dimensions (1 for a scalar); -1 when a dimension is negative (variable).</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                return -1;
            }
            count = checked(count * d);
        }
        return count;
    }

    public static string Format(ReadOnlySpan<long> shape) => "[" + string.Join(",", shape.ToArray()) + "]";
}
