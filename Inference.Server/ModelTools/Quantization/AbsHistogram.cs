namespace Inference.Server.ModelTools.Quantization;

/// <summary>A histogram of |x| over [0, <see cref="Range"/>] in equal bins; values beyond the range count in the
/// last bin. Exact zeros are not counted: quantization represents zero exactly whatever the threshold, and the
/// zeros after a ReLU (often half of all values) would otherwise dominate the first bin and drag entropy
/// calibration towards thresholds that clip the real distribution. Not thread-safe.</summary>
public sealed class AbsHistogram
{
    public AbsHistogram(int bins, float range)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 8);
        Counts = new long[bins];
        Range = range > 0 && float.IsFinite(range) ? range : 1f;
    }

    public long[] Counts { get; }

    public float Range { get; }

    public float BinWidth => Range / Counts.Length;

    public void Add(ReadOnlySpan<float> values)
    {
        var perUnit = Counts.Length / Range;
        var last = Counts.Length - 1;
        foreach (var v in values)
        {
            if (v == 0)
            {
                continue;
            }
            var bin = (int)Math.Min(Math.Abs(v) * perUnit, last);
            Counts[bin]++;
        }
    }
}
