using System.Globalization;
using System.Net;
using System.Text;

namespace LoadTest.Report;

/// <summary>One line of a chart: points in data units, drawn in <see cref="Color"/> (CSS colour).
/// <see cref="Labels"/>, when given, are written next to the points (one per point).</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false,
    IReadOnlyList<string>? Labels = null);

/// <summary>One layer of a stacked bar chart: a value per category.</summary>
public sealed record BarLayer(string Name, string Color, IReadOnlyList<double> Values);

/// <summary>Minimal self-contained SVG charts (no script, no external resource): a line chart with numeric or
/// categorical x axis and a stacked bar chart, with axes, "nice" ticks, labelled points and a legend.</summary>
public static class SvgChart
{
    private const int Width = 600, Height = 360, Left = 70, Right = 20, Top = 40, Bottom = 80;

    /// <summary>A line chart. With <paramref name="categories"/>, x values are category indexes drawn evenly spaced.
    /// Without <paramref name="legend"/>, the series are told apart by their point labels only (many series).</summary>
    public static string Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, IReadOnlyList<string>? categories = null,
        bool legend = true)
    {
        var points = series.SelectMany(s => s.Points).ToList();
        var (xMin, xMax) = categories is null ? Range(points.Select(p => p.X), fromZero: true) : (-0.5, categories.Count - 0.5);
        var (yMin, yMax) = Range(points.Select(p => p.Y), fromZero: true);
        var svg = Begin(title);
        Axes(svg, xMin, xMax, yMin, yMax, xLabel, yLabel, categories);
        foreach (var s in series)
        {
            var coords = s.Points.Select(p => (X: MapX(p.X, xMin, xMax), Y: MapY(p.Y, yMin, yMax))).ToList();
            if (coords.Count > 1)
            {
                svg.Append(Inv($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")} points=\""))
                   .AppendJoin(' ', coords.Select(c => Inv($"{c.X:F1},{c.Y:F1}"))).Append("\"/>\n");
            }
            for (var i = 0; i < coords.Count; i++)
            {
                var c = coords[i];
                svg.Append(Inv($"<circle cx=\"{c.X:F1}\" cy=\"{c.Y:F1}\" r=\"3.5\" fill=\"{s.Color}\"/>\n"));
                if (s.Labels is { } labels && i < labels.Count)
                {
                    svg.Append(Inv($"<text x=\"{c.X + 5:F1}\" y=\"{c.Y - 6:F1}\" font-size=\"10\" fill=\"{s.Color}\">{Esc(labels[i])}</text>\n"));
                }
            }
        }
        if (legend)
        {
            Legend(svg, series.Select(s => (s.Name, s.Color)));
        }
        return svg.Append("</svg>\n").ToString();
    }

    /// <summary>A stacked bar per category (e.g. the server's time per request split into queue and compute).</summary>
    public static string StackedBars(string title, string xLabel, string yLabel, IReadOnlyList<string> categories, IReadOnlyList<BarLayer> layers)
    {
        var totals = categories.Select((_, i) => layers.Sum(l => l.Values[i])).ToList();
        var (yMin, yMax) = Range(totals, fromZero: true);
        var svg = Begin(title);
        var (xMin, xMax) = (-0.5, categories.Count - 0.5);
        Axes(svg, xMin, xMax, yMin, yMax, xLabel, yLabel, categories);
        var barWidth = Math.Min(60, (Width - Left - Right) / Math.Max(categories.Count, 1) * 0.6);
        for (var i = 0; i < categories.Count; i++)
        {
            double bottom = 0;
            foreach (var layer in layers)
            {
                var v = layer.Values[i];
                var y0 = MapY(bottom, yMin, yMax);
                var y1 = MapY(bottom + v, yMin, yMax);
                svg.Append(Inv($"<rect x=\"{MapX(i, xMin, xMax) - (barWidth / 2):F1}\" y=\"{y1:F1}\" width=\"{barWidth:F1}\" height=\"{Math.Max(0, y0 - y1):F1}\" fill=\"{layer.Color}\"><title>{Esc(layer.Name)}: {v:0.#}</title></rect>\n"));
                bottom += v;
            }
        }
        Legend(svg, layers.Select(l => (l.Name, l.Color)));
        return svg.Append("</svg>\n").ToString();
    }

    private static StringBuilder Begin(string title) => new StringBuilder()
        .Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n"))
        .Append(Inv($"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"600\">{Esc(title)}</text>\n"));

    private static void Axes(StringBuilder svg, double xMin, double xMax, double yMin, double yMax, string xLabel, string yLabel, IReadOnlyList<string>? categories)
    {
        var x0 = Left;
        var y0 = Height - Bottom;
        foreach (var t in Ticks(yMin, yMax))
        {
            var y = MapY(t, yMin, yMax);
            svg.Append(Inv($"<line x1=\"{x0}\" x2=\"{Width - Right}\" y1=\"{y:F1}\" y2=\"{y:F1}\" stroke=\"#e3e3e3\"/>"))
               .Append(Inv($"<text x=\"{x0 - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Format(t)}</text>\n"));
        }
        if (categories is null)
        {
            foreach (var t in Ticks(xMin, xMax))
            {
                var x = MapX(t, xMin, xMax);
                svg.Append(Inv($"<line x1=\"{x:F1}\" x2=\"{x:F1}\" y1=\"{Top}\" y2=\"{y0}\" stroke=\"#f0f0f0\"/>"))
                   .Append(Inv($"<text x=\"{x:F1}\" y=\"{y0 + 16}\" text-anchor=\"middle\">{Format(t)}</text>\n"));
            }
        }
        else
        {
            for (var i = 0; i < categories.Count; i++)
            {
                svg.Append(Inv($"<text x=\"{MapX(i, xMin, xMax):F1}\" y=\"{y0 + 16}\" text-anchor=\"middle\">{Esc(categories[i])}</text>\n"));
            }
        }
        svg.Append(Inv($"<line x1=\"{x0}\" x2=\"{Width - Right}\" y1=\"{y0}\" y2=\"{y0}\" stroke=\"#333\"/><line x1=\"{x0}\" x2=\"{x0}\" y1=\"{Top}\" y2=\"{y0}\" stroke=\"#333\"/>\n"))
           .Append(Inv($"<text x=\"{(x0 + Width - Right) / 2}\" y=\"{y0 + 36}\" text-anchor=\"middle\">{Esc(xLabel)}</text>\n"))
           .Append(Inv($"<text transform=\"translate(16 {(Top + y0) / 2}) rotate(-90)\" text-anchor=\"middle\">{Esc(yLabel)}</text>\n"));
    }

    private static void Legend(StringBuilder svg, IEnumerable<(string Name, string Color)> entries)
    {
        var x = (double)Left;
        foreach (var (name, color) in entries)
        {
            svg.Append(Inv($"<rect x=\"{x:F0}\" y=\"{Height - 26}\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{x + 16:F0}\" y=\"{Height - 16}\">{Esc(name)}</text>\n"));
            x += 28 + (name.Length * 7);
        }
    }

    private static double MapX(double v, double min, double max) => Left + ((v - min) / (max - min) * (Width - Left - Right));

    private static double MapY(double v, double min, double max) => Height - Bottom - ((v - min) / (max - min) * (Height - Bottom - Top));

    private static (double Min, double Max) Range(IEnumerable<double> values, bool fromZero)
    {
        var list = values.Where(double.IsFinite).ToList();
        var min = list.Count == 0 ? 0 : list.Min();
        var max = list.Count == 0 ? 1 : list.Max();
        if (fromZero)
        {
            min = Math.Min(0, min);
        }
        if (max <= min)
        {
            max = min + 1;
        }
        var step = NiceStep(max - min);
        return (Math.Floor(min / step) * step, Math.Ceiling(max * 1.05 / step) * step);
    }

    /// <summary>A 1, 2 or 5 times a power of ten step giving about five intervals over <paramref name="span"/>.</summary>
    public static double NiceStep(double span)
    {
        var raw = span / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var f = raw / magnitude;
        return magnitude * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
    }

    private static IEnumerable<double> Ticks(double min, double max)
    {
        var step = NiceStep(max - min);
        for (var t = Math.Ceiling(min / step) * step; t <= max + (step / 1000); t += step)
        {
            yield return Math.Round(t, 10);
        }
    }

    private static string Format(double v) => Math.Abs(v) >= 10000 ? (v / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k" : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
