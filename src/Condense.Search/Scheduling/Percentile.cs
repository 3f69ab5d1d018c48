namespace Condense.Search.Scheduling;

/// <summary>Order statistics the schedulers share.</summary>
public static class Percentile
{
    /// <summary>The <paramref name="p"/>-th percentile (0..100) with linear interpolation between order statistics
    /// (numpy's default, which Ray's ASHA and Optuna's pruners use).</summary>
    public static double Of(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToArray();
        double pos = p / 100.0 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
