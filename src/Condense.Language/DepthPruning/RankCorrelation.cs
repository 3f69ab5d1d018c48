// Spearman's rank correlation with average ranks for ties: Pearson's r of the two rank vectors.
namespace Condense.Language.DepthPruning;

/// <summary>Spearman rank correlation.</summary>
public static class RankCorrelation
{
    /// <summary>Spearman's ρ of two equally long vectors; NaN when either is constant or has a non-finite value.</summary>
    public static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"lengths differ: {a.Count} vs {b.Count}", nameof(b));
        if (a.Count < 2 || a.Any(x => !double.IsFinite(x)) || b.Any(x => !double.IsFinite(x))) return double.NaN;
        return Pearson(Ranks(a), Ranks(b));
    }

    /// <summary>1-based ranks, ties sharing the mean of their positions.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int j = start; j <= end; j++) ranks[order[j]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }
}
