using Condense.Experiments.Statistics;

namespace Condense.Experiments.Tests.Statistics;

public sealed class PairedStatisticsTests
{
    [Theory]
    [InlineData(0, 6, 0.03125)]          // 2 * 0.5^6
    [InlineData(1, 9, 0.021484375)]      // 2 * (1 + 10) / 1024
    [InlineData(5, 5, 1.0)]
    [InlineData(0, 0, 1.0)]
    [InlineData(30, 10, 0.00222143)]     // 2 * sum C(40, i) for i <= 10 / 2^40
    public void Exact_McNemar_matches_the_binomial_tail(int aOnly, int bOnly, double p) =>
        Assert.Equal(p, PairedStatistics.McNemarExact(aOnly, bOnly), 5);

    [Fact]
    public void Discordant_counts_only_images_where_exactly_one_arm_is_right()
    {
        bool[] a = [true, true, false, false, true];
        bool[] b = [true, false, true, false, false];
        Assert.Equal((2, 1), PairedStatistics.Discordant(a, b));
        Assert.Throws<ArgumentException>(() => PairedStatistics.Discordant(a, b[..4]));
    }

    [Fact]
    public void Paired_interval_uses_the_t_quantile_of_n_minus_1_degrees_of_freedom()
    {
        var (mean, low, high) = PairedStatistics.PairedInterval([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]);
        Assert.Equal(2.0, mean, 10);
        double half = 4.303 * 1.0 / Math.Sqrt(3);
        Assert.Equal(2.0 - half, low, 6);
        Assert.Equal(2.0 + half, high, 6);
        Assert.True(double.IsNaN(PairedStatistics.PairedInterval([1.0], [0.5]).Low));
    }

    [Fact]
    public void Compare_pools_discordant_images_over_seeds_and_calls_a_difference_only_when_both_tests_agree()
    {
        // A is right on every image, B on the first half: 3 seeds x 20 images, 30 A-only images, no B-only
        static IReadOnlyList<bool> Seed(int right) => [.. Enumerable.Range(0, 20).Select(i => i < right)];
        var better = PairedStatistics.Compare([Seed(20), Seed(20), Seed(20)], [Seed(10), Seed(9), Seed(11)]);
        Assert.Equal((30, 0), (better.AOnly, better.BOnly));
        Assert.Equal(0.5, better.MeanDifference, 10);
        Assert.True(better.CiLow > 0);
        Assert.Equal("A better", better.Verdict);

        // one seed: no interval, so even a large McNemar difference is a tie
        var oneSeed = PairedStatistics.Compare([Seed(20)], [Seed(5)]);
        Assert.True(oneSeed.McNemarP < 0.05 && double.IsNaN(oneSeed.CiLow));
        Assert.Equal("tie", oneSeed.Verdict);

        Assert.Equal("tie", PairedStatistics.Compare([Seed(10), Seed(10)], [Seed(10), Seed(10)]).Verdict);
        Assert.Throws<ArgumentException>(() => PairedStatistics.Compare([Seed(1)], [Seed(1), Seed(1)]));
    }
}
