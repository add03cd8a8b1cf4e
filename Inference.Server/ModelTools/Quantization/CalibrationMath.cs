namespace Inference.Server.ModelTools.Quantization;

/// <summary>Clipping thresholds from |x| histograms. Both return a value in (0, histogram range].</summary>
public static class CalibrationMath
{
    /// <summary>The smallest bin edge below which at least <paramref name="percentile"/> % of the values lie.</summary>
    public static float PercentileThreshold(AbsHistogram histogram, double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        var counts = histogram.Counts;
        var total = counts.Sum();
        if (total == 0)
        {
            return histogram.Range;
        }
        var target = percentile / 100.0 * total;
        long cumulative = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            cumulative += counts[i];
            if (cumulative >= target)
            {
                return (i + 1) * histogram.BinWidth;
            }
        }
        return histogram.Range;
    }

    /// <summary>
    /// TensorRT's entropy calibration: for each candidate threshold of i bins (i from <paramref name="levels"/> to
    /// all), P is the histogram cut at i with the clipped outliers added to its last bin, Q is the first i bins
    /// merged into <paramref name="levels"/> quantization levels and spread back evenly over the bins that were
    /// non-zero; the threshold minimising KL(P || Q) wins. <paramref name="levels"/> is 128 for symmetric INT8
    /// (one sign) and 256 for a non-negative tensor quantized asymmetrically.
    /// </summary>
    public static float EntropyThreshold(AbsHistogram histogram, int levels = 128)
    {
        var counts = histogram.Counts;
        var n = counts.Length;
        if (n <= levels || counts.Sum() == 0)
        {
            return histogram.Range;
        }
        var p = new double[n];
        var q = new double[n];
        var bestKl = double.PositiveInfinity;
        var bestBins = n;
        var suffix = new long[n + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            suffix[i] = suffix[i + 1] + counts[i];
        }
        for (var bins = levels; bins <= n; bins++)
        {
            for (var j = 0; j < bins; j++)
            {
                p[j] = counts[j];
            }
            p[bins - 1] += suffix[bins];
            for (var level = 0; level < levels; level++)
            {
                var start = (int)((long)level * bins / levels);
                var end = (int)((long)(level + 1) * bins / levels);
                double sum = 0;
                var nonZero = 0;
                for (var j = start; j < end; j++)
                {
                    sum += counts[j];
                    if (counts[j] != 0)
                    {
                        nonZero++;
                    }
                }
                for (var j = start; j < end; j++)
                {
                    q[j] = counts[j] != 0 ? sum / nonZero : 0;
                }
            }
            var kl = KlDivergence(p.AsSpan(0, bins), q.AsSpan(0, bins));
            if (kl < bestKl)
            {
                bestKl = kl;
                bestBins = bins;
            }
        }
        return bestBins * histogram.BinWidth;
    }

    /// <summary>KL(P || Q) of two unnormalized distributions; a bin where P &gt; 0 and Q = 0 costs as if Q held
    /// a tiny mass (1e-4 of a count) instead of making the divergence infinite.</summary>
    public static double KlDivergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q)
    {
        double pSum = 0, qSum = 0;
        for (var i = 0; i < p.Length; i++)
        {
            pSum += p[i];
            qSum += q[i];
        }
        if (pSum == 0)
        {
            return 0;
        }
        if (qSum == 0)
        {
            return double.PositiveInfinity;
        }
        const double Epsilon = 1e-4;
        double kl = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == 0)
            {
                continue;
            }
            var pi = p[i] / pSum;
            var qi = Math.Max(q[i], Epsilon) / qSum;
            kl += pi * Math.Log(pi / qi);
        }
        return kl;
    }
}
