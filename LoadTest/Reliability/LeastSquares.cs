namespace LoadTest.Reliability;

/// <summary>Ordinary least squares of y on x.</summary>
public static class LeastSquares
{
    /// <summary>The slope of the fitted line (units of y per unit of x); 0 for fewer than two distinct x.</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count)
        {
            throw new ArgumentException("x and y differ in length");
        }
        if (x.Count < 2)
        {
            return 0;
        }
        var mx = x.Average();
        var my = y.Average();
        double sxy = 0, sxx = 0;
        for (var i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
        }
        return sxx == 0 ? 0 : sxy / sxx;
    }
}
