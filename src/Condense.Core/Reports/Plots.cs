// Line charts of training curves (loss, accuracy, sparsity ... against step), rendered headless to PNG.
using Condense.Core.IO;
using ScottPlot;

namespace Condense.Core.Reports;

/// <summary>
/// PNG charts through ScottPlot (SkiaSharp, no display needed). Files are written atomically.
/// </summary>
public static class Plots
{
    /// <summary>
    /// Draws one line per series with a legend. Non-finite points are skipped (a diverged run should still plot).
    /// With <paramref name="logY"/>, y is drawn on a base-10 log scale and points with y &lt;= 0 are skipped,
    /// since they have no logarithm; if no point is left at all, an <see cref="InputException"/> says so.
    /// </summary>
    public static void LineChart(string path, string title, string xLabel, string yLabel,
        IReadOnlyList<PlotSeries> series, bool logY = false, int width = 800, int height = 500)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        foreach (var s in series)
        {
            if (s.X.Count != s.Y.Count)
                throw new ArgumentException($"series '{s.Name}' has {s.X.Count} x values but {s.Y.Count} y values",
                    nameof(series));
        }

        var kept = series.Select(s => (s.Name, Points: Plottable(s, logY))).ToList();
        var allY = kept.SelectMany(s => s.Points.Select(p => p.Y)).ToList();
        if (logY && allY.Count == 0 && series.Any(s => s.Y.Count > 0))
            throw new InputException($"{path}: cannot draw '{title}' on a log scale: no series has a positive value");

        using var plot = new Plot();
        foreach (var (name, points) in kept)
        {
            var xs = points.Select(p => p.X).ToArray();
            var ys = points.Select(p => logY ? Math.Log10(p.Y) : p.Y).ToArray();
            var line = plot.Add.ScatterLine(xs, ys);
            line.LegendText = name;
            line.LineWidth = 2;
        }
        if (logY && allY.Count > 0)
            plot.Axes.Left.TickGenerator = LogAxisTicks.For(allY.Min(), allY.Max());

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(logY ? $"{yLabel} (log scale)" : yLabel);
        // Outside the data area: curves go anywhere, so an inside legend would hide some of them.
        if (series.Count > 0) plot.ShowLegend(Edge.Right);

        var png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>
    /// One bar per label with an optional error bar (e.g. mean ± std over seeds); non-finite values draw no bar.
    /// </summary>
    public static void BarChart(string path, string title, string yLabel, IReadOnlyList<string> labels,
        IReadOnlyList<double> values, IReadOnlyList<double>? errors = null, int width = 900, int height = 500)
    {
        if (labels.Count != values.Count || (errors is not null && errors.Count != values.Count))
            throw new ArgumentException("labels, values and errors must have the same length", nameof(values));
        using var plot = new Plot();
        var ticks = new List<Tick>();
        for (int i = 0; i < labels.Count; i++)
        {
            ticks.Add(new Tick(i, labels[i]));
            if (!double.IsFinite(values[i])) continue;
            var bar = new Bar { Position = i, Value = values[i] };
            if (errors is not null && double.IsFinite(errors[i])) bar.Error = errors[i];
            plot.Add.Bar(bar);
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }

    private static List<(double X, double Y)> Plottable(PlotSeries series, bool logY)
    {
        var points = new List<(double X, double Y)>(series.X.Count);
        for (var i = 0; i < series.X.Count; i++)
        {
            var (x, y) = (series.X[i], series.Y[i]);
            if (!double.IsFinite(x) || !double.IsFinite(y) || (logY && y <= 0)) continue;
            points.Add((x, y));
        }
        return points;
    }
}
