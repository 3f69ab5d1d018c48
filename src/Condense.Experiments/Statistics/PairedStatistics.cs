// Paired comparisons of two arms on the same held-out images: the exact McNemar test on the images where exactly
// one arm is right, and a t confidence interval of the per-seed accuracy difference.
namespace Condense.Experiments.Statistics;

/// <summary>Exact McNemar test and paired t interval.</summary>
public static class PairedStatistics
{
    // two-sided 97.5% quantiles of Student's t for 1..10 degrees of freedom
    private static readonly double[] T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

    /// <summary>Images right under A only, right under B only.</summary>
    public static (int AOnly, int BOnly) Discordant(IReadOnlyList<bool> a, IReadOnlyList<bool> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"paired outcomes differ in length ({a.Count} vs {b.Count})");
        int aOnly = 0, bOnly = 0;
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] && !b[i]) aOnly++;
            else if (b[i] && !a[i]) bOnly++;
        }
        return (aOnly, bOnly);
    }

    /// <summary>Two-sided exact McNemar p-value: P(X ≤ min(b, c)) doubled, X ~ Binomial(b + c, 1/2); 1 when b + c = 0.</summary>
    public static double McNemarExact(int aOnly, int bOnly)
    {
        int n = aOnly + bOnly, k = Math.Min(aOnly, bOnly);
        if (n == 0) return 1;
        double logHalf = n * Math.Log(0.5), cdf = 0, logChoose = 0;   // log C(n, 0)
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logChoose += Math.Log(n - i + 1) - Math.Log(i);
            cdf += Math.Exp(logChoose + logHalf);
        }
        return Math.Min(1, 2 * cdf);
    }

    /// <summary>Mean of the paired differences and its 95% t interval (NaN bounds for fewer than 2 pairs).</summary>
    public static (double Mean, double Low, double High) PairedInterval(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count || a.Count == 0) throw new ArgumentException("paired samples must have the same, non-zero length");
        var d = a.Zip(b, (x, y) => x - y).ToList();
        var (mean, std) = SeedStatistics.MeanStd(d);
        if (d.Count < 2) return (mean, double.NaN, double.NaN);
        double t = d.Count - 1 <= T975.Length ? T975[d.Count - 2] : 1.96;
        double half = t * std / Math.Sqrt(d.Count);
        return (mean, mean - half, mean + half);
    }

    /// <summary>
    /// Two arms over seeds on the same images, A − B: the per-seed accuracy difference with its 95% t interval, the
    /// discordant counts and exact McNemar p pooled over seeds; "A better" / "B better" only when the interval excludes
    /// 0 on that side and p &lt; 0.05, otherwise "tie".
    /// </summary>
    public static PairedComparison Compare(IReadOnlyList<IReadOnlyList<bool>> outcomesA, IReadOnlyList<IReadOnlyList<bool>> outcomesB)
    {
        ArgumentNullException.ThrowIfNull(outcomesA);
        ArgumentNullException.ThrowIfNull(outcomesB);
        if (outcomesA.Count != outcomesB.Count) throw new ArgumentException($"paired arms differ in seeds ({outcomesA.Count} vs {outcomesB.Count})");
        int aOnly = 0, bOnly = 0;
        for (int s = 0; s < outcomesA.Count; s++)
        {
            var (x, y) = Discordant(outcomesA[s], outcomesB[s]);
            aOnly += x;
            bOnly += y;
        }
        static double Accuracy(IReadOnlyList<bool> o) => o.Count(c => c) / (double)o.Count;
        var (mean, low, high) = PairedInterval(outcomesA.Select(Accuracy).ToList(), outcomesB.Select(Accuracy).ToList());
        double p = McNemarExact(aOnly, bOnly);
        string verdict = p < 0.05 && low > 0 ? "A better" : p < 0.05 && high < 0 ? "B better" : "tie";
        return new PairedComparison(mean, low, high, aOnly, bOnly, p, verdict);
    }

    /// <summary>A McNemar p-value for a table: "&lt;1e-4" below that, else four decimals.</summary>
    public static string FormatP(double p) => p < 1e-4 ? "<1e-4" : p.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A paired comparison of two arms, A − B (accuracy as a fraction).</summary>
public sealed record PairedComparison(double MeanDifference, double CiLow, double CiHigh, int AOnly, int BOnly, double McNemarP, string Verdict);
