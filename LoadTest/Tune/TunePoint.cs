namespace LoadTest.Tune;

/// <summary>
/// One configuration of the search space: the model variant (<see cref="Precision"/>: <c>fp32</c>, <c>fp16</c>,
/// <c>int8</c>, <c>preprocess</c> or <c>fp16-preprocess</c>), the accelerator, instances per device, dynamic batching (null
/// <see cref="QueueDelayUs"/>: no dynamic_batching block; preferred batch sizes only with it) and the CUDA graph
/// batch sizes (empty: no CUDA graphs; only with the cuda accelerator). Identity is <see cref="Key"/>, a canonical
/// text that the state file and the reports use.
/// </summary>
public sealed record TunePoint(string Precision, AcceleratorSpec Accelerator, int Instances, int? QueueDelayUs,
    IReadOnlyList<int> PreferredBatchSizes, IReadOnlyList<int> CudaGraphBatchSizes)
{
    public string Key =>
        $"{Precision}|{Accelerator.Text}|instances={AcceleratorSpec.Int(Instances)}|delay={(QueueDelayUs is { } d ? AcceleratorSpec.Int(d) : "off")}" +
        $"|preferred={Sizes(PreferredBatchSizes)}|graphs={Sizes(CudaGraphBatchSizes)}";

    /// <summary>A short human label: <c>fp16 cuda x2 delay 500us pref 4/8 graphs 1/8</c>.</summary>
    public string Label =>
        $"{Precision} {Accelerator.Text} x{AcceleratorSpec.Int(Instances)}" +
        (QueueDelayUs is { } d ? $" batching {AcceleratorSpec.Int(d)}us" : " no-batching") +
        (PreferredBatchSizes.Count > 0 ? $" pref {string.Join("/", PreferredBatchSizes)}" : "") +
        (CudaGraphBatchSizes.Count > 0 ? $" graphs {string.Join("/", CudaGraphBatchSizes)}" : "");

    /// <summary>The value this point has in <paramref name="dimension"/>, as the dimension's canonical text.</summary>
    public string ValueOf(TuneDimension dimension) => dimension switch
    {
        TuneDimension.Precision => Precision,
        TuneDimension.Accelerator => Accelerator.Text,
        TuneDimension.CudaGraphs => Sizes(CudaGraphBatchSizes),
        TuneDimension.Instances => AcceleratorSpec.Int(Instances),
        TuneDimension.QueueDelay => QueueDelayUs is { } d ? AcceleratorSpec.Int(d) : "off",
        TuneDimension.PreferredBatchSizes => Sizes(PreferredBatchSizes),
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    private static string Sizes(IReadOnlyList<int> sizes) => sizes.Count == 0 ? "off" : string.Join("/", sizes);
}

/// <summary>The dimensions of the search space, in the order the ladder changes them (each may depend on the
/// ones before: CUDA graphs on the accelerator, preferred sizes on the queue delay).</summary>
public enum TuneDimension
{
    Precision,
    Accelerator,
    CudaGraphs,
    Instances,
    QueueDelay,
    PreferredBatchSizes,
}
