namespace LoadTest.Tune;

/// <summary>
/// The search space: the values of each <see cref="TuneDimension"/>, in the order given (the first value of each
/// is the baseline). Batch sizes are resolved against the model's <see cref="MaxBatchSize"/> already. A point is
/// valid when the server would load it as meant (<see cref="Check"/>): dynamic batching, preferred sizes and CUDA
/// graphs need a batching model, preferred sizes need dynamic batching, CUDA graphs need the cuda accelerator, and
/// every size is at most max_batch_size. Immutable.
/// </summary>
public sealed record TuneSpace(
    IReadOnlyList<string> Precisions,
    IReadOnlyList<AcceleratorSpec> Accelerators,
    IReadOnlyList<IReadOnlyList<int>> CudaGraphs,
    IReadOnlyList<int> Instances,
    IReadOnlyList<int?> QueueDelaysUs,
    IReadOnlyList<IReadOnlyList<int>> PreferredBatchSizes,
    int MaxBatchSize)
{
    public static readonly string[] KnownPrecisions = ["fp32", "fp16", "int8", "preprocess", "fp16-preprocess"];

    public static readonly TuneDimension[] Dimensions = Enum.GetValues<TuneDimension>();

    public TunePoint Baseline => new(Precisions[0], Accelerators[0], Instances[0], QueueDelaysUs[0], PreferredBatchSizes[0], CudaGraphs[0]);

    /// <summary>How many values <paramref name="dimension"/> has.</summary>
    public int Count(TuneDimension dimension) => dimension switch
    {
        TuneDimension.Precision => Precisions.Count,
        TuneDimension.Accelerator => Accelerators.Count,
        TuneDimension.CudaGraphs => CudaGraphs.Count,
        TuneDimension.Instances => Instances.Count,
        TuneDimension.QueueDelay => QueueDelaysUs.Count,
        TuneDimension.PreferredBatchSizes => PreferredBatchSizes.Count,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    /// <summary><paramref name="point"/> with <paramref name="dimension"/> set to its value number <paramref name="index"/>.</summary>
    public TunePoint With(TunePoint point, TuneDimension dimension, int index) => dimension switch
    {
        TuneDimension.Precision => point with { Precision = Precisions[index] },
        TuneDimension.Accelerator => point with { Accelerator = Accelerators[index] },
        TuneDimension.CudaGraphs => point with { CudaGraphBatchSizes = CudaGraphs[index] },
        TuneDimension.Instances => point with { Instances = Instances[index] },
        TuneDimension.QueueDelay => point with { QueueDelayUs = QueueDelaysUs[index] },
        TuneDimension.PreferredBatchSizes => point with { PreferredBatchSizes = PreferredBatchSizes[index] },
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    /// <summary>Null when the server would load <paramref name="point"/> as meant; otherwise why not.</summary>
    public string? Check(TunePoint point)
    {
        if (point.Instances < 1)
        {
            return "instances must be at least 1";
        }
        if (MaxBatchSize == 0 && (point.QueueDelayUs is not null || point.CudaGraphBatchSizes.Count > 0))
        {
            return "the model does not batch (max_batch_size 0): no dynamic batching or CUDA graph sizes";
        }
        if (point.PreferredBatchSizes.Count > 0 && point.QueueDelayUs is null)
        {
            return "preferred batch sizes need dynamic batching";
        }
        if (point.CudaGraphBatchSizes.Count > 0 && point.Accelerator.Name != "cuda")
        {
            return "CUDA graphs need the cuda accelerator";
        }
        if (point.PreferredBatchSizes.Concat(point.CudaGraphBatchSizes).FirstOrDefault(s => s < 1 || s > MaxBatchSize) is var bad and not 0)
        {
            return $"batch size {bad} is outside 1..max_batch_size {MaxBatchSize}";
        }
        return null;
    }

    /// <summary>Every valid point of the full grid (the cross product of all dimensions), in a fixed order: what a
    /// brute-force search would measure.</summary>
    public IReadOnlyList<TunePoint> Expand()
    {
        IEnumerable<TunePoint> points = [Baseline];
        foreach (var dimension in Dimensions)
        {
            var d = dimension;
            points = points.SelectMany(p => Enumerable.Range(0, Count(d)).Select(i => With(p, d, i))).ToList();
        }
        return [.. points.Where(p => Check(p) is null).DistinctBy(p => p.Key)];
    }
}
