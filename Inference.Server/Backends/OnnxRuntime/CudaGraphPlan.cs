namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Which batch sizes an instance captures as CUDA graphs, and how it runs a batch of any other size: padded up to
/// the nearest captured size (graph replay over some unused rows) or run eagerly at its own size, whichever the
/// timings measured at load say is cheaper. Until timings are recorded, a partial batch is padded.
/// Not thread-safe: owned by one instance (timings are recorded while it loads).
/// </summary>
public sealed class CudaGraphPlan
{
    private readonly int[] _sizes;
    private readonly double[] _graphMs;
    private readonly double[] _eagerMs;

    /// <param name="sizes">Captured batch sizes; any order, duplicates ignored, each in 1..<paramref name="maxBatchSize"/>.</param>
    /// <param name="maxBatchSize">The model's max_batch_size (&gt; 0).</param>
    public CudaGraphPlan(IEnumerable<int> sizes, int maxBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _sizes = [.. sizes.Distinct().Order()];
        if (_sizes.Length == 0 || _sizes[0] < 1 || _sizes[^1] > maxBatchSize)
        {
            throw new ArgumentException($"captured batch sizes must be non-empty and within 1..{maxBatchSize}", nameof(sizes));
        }
        MaxBatchSize = maxBatchSize;
        _graphMs = new double[_sizes.Length];
        _eagerMs = new double[_sizes.Length];
    }

    /// <summary>Powers of two up to <paramref name="maxBatchSize"/>, and <paramref name="maxBatchSize"/> itself.</summary>
    public static IEnumerable<int> DefaultSizes(int maxBatchSize)
    {
        for (var s = 1; s < maxBatchSize; s *= 2)
        {
            yield return s;
        }
        yield return maxBatchSize;
    }

    public int MaxBatchSize { get; }

    /// <summary>Captured sizes, ascending.</summary>
    public IReadOnlyList<int> Sizes => _sizes;

    /// <summary>Records the measured time of one graph replay and one eager run at captured size <paramref name="size"/>.</summary>
    public void RecordTimings(int size, double graphMs, double eagerMs)
    {
        var i = Array.IndexOf(_sizes, size);
        if (i < 0)
        {
            throw new ArgumentException($"{size} is not a captured size", nameof(size));
        }
        _graphMs[i] = graphMs;
        _eagerMs[i] = eagerMs;
    }

    /// <summary>
    /// How to run <paramref name="rows"/> rows: <c>(rows, true)</c> when that size is captured; <c>(p, true)</c> for the
    /// smallest captured size p &gt; rows when replaying p is expected to be no slower than an eager run of
    /// <paramref name="rows"/> (interpolated between the eager timings of the captured sizes around it); else
    /// <c>(rows, false)</c>, also when no captured size is large enough.
    /// </summary>
    public (int ExecutionRows, bool UseGraph) Choose(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var hi = Array.BinarySearch(_sizes, rows);
        if (hi >= 0)
        {
            return (rows, true);
        }
        hi = ~hi;
        if (hi == _sizes.Length)
        {
            return (rows, false);
        }
        if (_graphMs[hi] <= 0 || _eagerMs[hi] <= 0)
        {
            return (_sizes[hi], true); // Not measured: replaying is the better bet for launch-bound small batches.
        }
        double eagerEstimate;
        if (hi == 0)
        {
            eagerEstimate = _eagerMs[0];
        }
        else
        {
            var lo = hi - 1;
            var fraction = (double)(rows - _sizes[lo]) / (_sizes[hi] - _sizes[lo]);
            eagerEstimate = _eagerMs[lo] + (_eagerMs[hi] - _eagerMs[lo]) * fraction;
        }
        return _graphMs[hi] <= eagerEstimate ? (_sizes[hi], true) : (rows, false);
    }
}
