// Tick marks for a base-10 log axis: ScottPlot plots log10(y), these ticks label the positions with y itself.
using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Condense.Core.Reports;

/// <summary>
/// Picks readable ticks for data spanning [<c>low</c>, <c>high</c>] (both positive) on a log axis: powers of ten
/// when the data spans several decades, 1-2-5 steps or every digit when it spans fewer. When even every digit
/// gives fewer than two ticks (data within one narrow band), ScottPlot's own spacing is kept, relabelled.
/// </summary>
internal static class LogAxisTicks
{
    private static readonly double[][] MantissaSets = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];
    private const int MinimumMajorTicks = 3;

    public static ITickGenerator For(double low, double high)
    {
        var firstDecade = (int)Math.Floor(Math.Log10(low));
        var lastDecade = (int)Math.Ceiling(Math.Log10(high));
        foreach (var mantissas in MantissaSets)
        {
            var major = Ticks(firstDecade, lastDecade, mantissas).Where(v => v >= low && v <= high).ToList();
            if (major.Count < MinimumMajorTicks && mantissas.Length < 9) continue;
            if (major.Count < 2) break;

            var manual = new NumericManual();
            // Labels and minor ticks reach one decade beyond the data so the autoscale margin is covered too.
            foreach (var value in Ticks(firstDecade - 1, lastDecade + 1, mantissas))
                manual.AddMajor(Math.Log10(value), Label(value));
            foreach (var value in Ticks(firstDecade - 1, lastDecade + 1, MantissaSets[2]))
                manual.AddMinor(Math.Log10(value));
            return manual;
        }
        return new NumericAutomatic { LabelFormatter = y => Label(Math.Pow(10, y)) };
    }

    private static IEnumerable<double> Ticks(int firstDecade, int lastDecade, double[] mantissas)
    {
        for (var decade = firstDecade; decade <= lastDecade; decade++)
        {
            foreach (var mantissa in mantissas)
                yield return mantissa * Math.Pow(10, decade);
        }
    }

    /// <summary>Three significant digits; plain notation from 1e-4 to 1e6 ("1000", not "1E+03"), else "1e-5".</summary>
    internal static string Label(double value)
    {
        var rounded = double.Parse(value.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var magnitude = Math.Abs(rounded);
        return magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e6)
            ? rounded.ToString("G6", CultureInfo.InvariantCulture)
            : rounded.ToString("0.##e+0", CultureInfo.InvariantCulture);
    }
}
