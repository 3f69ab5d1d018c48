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
}
