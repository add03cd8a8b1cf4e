namespace Inference.Server.Backends.OnnxRuntime;

/// <summary>
/// Which batch sizes an instance captures as CUDA graphs, and how it runs a batch of any other size: padded up to
/// the nearest captured size (graph replay over some unused rows), or run eagerly at its own size when it is larger
/// than every captured size. Padding is preferred to an eager run even where the eager run would compute less: every
/// new input shape makes ONNX Runtime's CUDA provider search convolution algorithms again (seconds with
/// cudnn_conv_algo_search EXHAUSTIVE, per shape), which under a dynamic batcher's varying sizes stalled the server on
/// the H100 (3.4 s per execution at saturation). Replay timings are recorded at capture for the log.
/// Not thread-safe: owned by one instance.
/// </summary>
public sealed class CudaGraphPlan
{
    private readonly int[] _sizes;
    private readonly double[] _graphMs;

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

    /// <summary>Records the measured time of one replay of the graph captured at <paramref name="size"/>.</summary>
    public void RecordReplay(int size, double graphMs)
    {
        var i = Array.IndexOf(_sizes, size);
        if (i < 0)
        {
            throw new ArgumentException($"{size} is not a captured size", nameof(size));
        }
        _graphMs[i] = graphMs;
    }

    /// <summary>Replay milliseconds per captured size as recorded (0 until captured), for the log.</summary>
    public string Describe() => string.Join(", ", _sizes.Select((s, i) => FormattableString.Invariant($"{s}: {_graphMs[i]:F2} ms")));

    /// <summary>
    /// How to run <paramref name="rows"/> rows: <c>(p, true)</c> for the smallest captured size p &gt;= rows (p - rows
    /// padding rows); <c>(rows, false)</c> when no captured size is large enough.
    /// </summary>
    public (int ExecutionRows, bool UseGraph) Choose(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var i = Array.BinarySearch(_sizes, rows);
        if (i >= 0)
        {
            return (rows, true);
        }
        i = ~i;
        return i == _sizes.Length ? (rows, false) : (_sizes[i], true);
    }
}
