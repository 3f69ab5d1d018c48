namespace Condense.Experiments.Statistics;

/// <summary>Mean and sample standard deviation of one metric over a study's seeds.</summary>
public static class SeedStatistics
{
    /// <summary>Mean and sample std (n − 1); std is 0 for a single seed.</summary>
    public static (double Mean, double Std) MeanStd(IEnumerable<double> values)
    {
        var v = values.ToList();
        double mean = v.Average();
        double std = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : 0;
        return (mean, std);
    }

    /// <summary>"mean ± std" in <paramref name="format"/> (invariant culture); the mean alone for a single seed.</summary>
    public static string Format(IEnumerable<double> values, string format = "F3")
    {
        var v = values.ToList();
        var (mean, std) = MeanStd(v);
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        return v.Count > 1 ? $"{mean.ToString(format, ci)} ± {std.ToString(format, ci)}" : mean.ToString(format, ci);
    }
}
