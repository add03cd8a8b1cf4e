namespace Inference.Server.ModelTools.Accuracy;

/// <summary>Accumulates the numbers of an <see cref="AccuracyReport"/> row by row. Not thread-safe.</summary>
public sealed class AccuracyAccumulator
{
    private int _rows;
    private int _top1Matches;
    private long _elements;
    private double _absDiffSum;
    private double _maxAbsDiff;
    private double _cosineSum;
    private double _cosineMin = double.PositiveInfinity;

    public int Rows => _rows;

    /// <summary>Adds one sample's output vectors (same length). The cosine of two zero vectors is 1, of a zero
    /// and a non-zero vector 0.</summary>
    public void AddRow(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        if (reference.Length != candidate.Length || reference.IsEmpty)
        {
            throw new ArgumentException($"Rows differ in length or are empty ({reference.Length} vs {candidate.Length}).");
        }
        double dot = 0, rr = 0, cc = 0;
        int refArgMax = 0, candArgMax = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            double r = reference[i], c = candidate[i];
            dot += r * c;
            rr += r * r;
            cc += c * c;
            var d = Math.Abs(r - c);
            _absDiffSum += d;
            if (!(d <= _maxAbsDiff))
            {
                _maxAbsDiff = d; // NaN propagates.
            }
            if (reference[i] > reference[refArgMax])
            {
                refArgMax = i;
            }
            if (candidate[i] > candidate[candArgMax])
            {
                candArgMax = i;
            }
        }
        var cosine = rr == 0 && cc == 0 ? 1.0 : rr == 0 || cc == 0 ? 0.0 : dot / (Math.Sqrt(rr) * Math.Sqrt(cc));
        _cosineSum += cosine;
        _cosineMin = Math.Min(_cosineMin, cosine);
        _elements += reference.Length;
        _rows++;
        if (refArgMax == candArgMax)
        {
            _top1Matches++;
        }
    }

    /// <summary>Adds a batch: both spans hold <paramref name="rows"/> rows of equal width, row-major.</summary>
    public void AddBatch(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate, int rows)
    {
        if (rows <= 0 || reference.Length != candidate.Length || reference.Length % rows != 0)
        {
            throw new ArgumentException($"Cannot split {reference.Length} and {candidate.Length} values into {rows} rows.");
        }
        var width = reference.Length / rows;
        for (var r = 0; r < rows; r++)
        {
            AddRow(reference.Slice(r * width, width), candidate.Slice(r * width, width));
        }
    }

    public AccuracyReport ToReport(string tool, string reference, string candidate) =>
        _rows == 0
            ? throw new InvalidOperationException("No rows were compared.")
            : new AccuracyReport(tool, reference, candidate, _rows, (double)_top1Matches / _rows, _maxAbsDiff,
                _absDiffSum / _elements, _cosineSum / _rows, _cosineMin);
}
