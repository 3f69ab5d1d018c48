using Condense.Experiments.Language;

namespace Condense.Experiments.Tests.Language;

public sealed class FlextronRoutingStudyTests
{
    private static FlextronRoutingRow Row(string variant, long seed, double budget, double measuredMs, double targetMs) =>
        new(variant, seed, budget, "mlp 172 groups 4", 1000, 5.0 + seed, measuredMs * 0.9, measuredMs, targetMs);

    [Fact]
    public void The_table_counts_budgets_met_within_ten_percent_and_pairs_the_variants_by_seed()
    {
        // straight-through: +5%, -8%, +20% of target; soft: +30%, +25%, +40% (every seed further off).
        var rows = new List<FlextronRoutingRow>
        {
            Row("straight-through, squared", 0, 0.5, 1.05, 1.0), Row("straight-through, squared", 1, 0.5, 0.92, 1.0), Row("straight-through, squared", 2, 0.5, 1.20, 1.0),
            Row("soft, squared", 0, 0.5, 1.30, 1.0), Row("soft, squared", 1, 0.5, 1.25, 1.0), Row("soft, squared", 2, 0.5, 1.40, 1.0),
        };
        var result = new FlextronRoutingResult("elastic", "lut.json", "native", 1, "test machine", 3, 200, 0.37, rows);
        var markdown = FlextronRoutingStudy.ToMarkdown(result);
        Assert.Contains("| 50 % | straight-through, squared | +5.0%, -8.0%, +20.0% | +5.7% | 2/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 50 % | soft, squared | +30.0%, +25.0%, +40.0% | +31.7% | 0/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("straight-through, squared closer", markdown, StringComparison.Ordinal);
        Assert.Contains("costs 37 % of the full model's decode latency", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Variants_within_noise_of_each_other_are_a_tie()
    {
        var rows = new List<FlextronRoutingRow>
        {
            Row("straight-through, squared", 0, 1, 0.95, 1.0), Row("straight-through, squared", 1, 1, 1.04, 1.0), Row("straight-through, squared", 2, 1, 0.97, 1.0),
            Row("soft, squared", 0, 1, 1.03, 1.0), Row("soft, squared", 1, 1, 0.96, 1.0), Row("soft, squared", 2, 1, 0.98, 1.0),
        };
        var markdown = FlextronRoutingStudy.ToMarkdown(new FlextronRoutingResult("elastic", "lut.json", "native", 1, "m", 3, 200, 0.4, rows));
        Assert.Contains("| tie |", markdown, StringComparison.Ordinal);
    }
}
