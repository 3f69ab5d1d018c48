using Condense.Vision.Distillation;

namespace Condense.Vision.Tests.Distillation;

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
}
