using Condense.Experiments.Language;

namespace Condense.Experiments.Tests.Language;

public sealed class FlextronRoutingStudyTests
{
    private const string Default = "straight-through, squared";

    // One row per seed (0, 1, ...) of one variant at one budget, with a target of 1 ms: measured ms = 1 + error.
    private static IEnumerable<FlextronRoutingRow> Seeds(string variant, double budget, params double[] measuredMs) =>
        measuredMs.Select((ms, seed) => new FlextronRoutingRow(variant, seed, budget, "mlp 172 groups 4", 1000, 5.0 + seed, ms * 0.9, ms, 1.0));

    private static string Table(params IEnumerable<FlextronRoutingRow>[] variants) =>
        FlextronRoutingStudy.ToMarkdown(new FlextronRoutingResult("elastic", "lut.json", "native", 1, "test machine", 3, 200, 0.37, variants.SelectMany(v => v).ToList()));

    [Fact]
    public void The_table_counts_budgets_met_within_ten_percent_and_pairs_the_variants_by_seed()
    {
        // straight-through: +5%, -8%, +20% of target; soft: +30%, +25%, +40% (every seed further off).
        var markdown = Table(Seeds(Default, 0.5, 1.05, 0.92, 1.20), Seeds("soft, squared", 0.5, 1.30, 1.25, 1.40));
        Assert.Contains("| 50 % | straight-through, squared | +5.0%, -8.0%, +20.0% | +5.7% | 2/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 50 % | soft, squared | +30.0%, +25.0%, +40.0% | +31.7% | 0/3 |", markdown, StringComparison.Ordinal);
        Assert.Contains("straight-through, squared closer", markdown, StringComparison.Ordinal);
        Assert.Contains("costs 37 % of the full model's decode latency", markdown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soft, squared", 1.0, "0.95 1.04 0.97", "1.03 0.96 0.98", "| tie |")]
    // a quarter of the draws at full: -2%, -1%, -3% at the 100% budget against -14%, -9%, -12% (every seed closer)
    [InlineData("straight-through, squared, 25% at full", 1.0, "0.86 0.91 0.88", "0.98 0.99 0.97", "| straight-through, squared, 25% at full closer |")]
    // a mean of -0.01 points, which used to print "-+0.0"
    [InlineData("soft, squared", 0.5, "1.05 1.06 1.07", "1.0502 1.0601 1.07", "| 0.0 points [0.0, 0.0] | tie |")]
    public void The_paired_table_reads_each_ablation_against_the_default(string ablation, double budget, string defaultMs, string ablationMs, string reading)
    {
        static double[] Ms(string list) => list.Split(' ').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var markdown = Table(Seeds(Default, budget, Ms(defaultMs)), Seeds(ablation, budget, Ms(ablationMs)));
        Assert.Contains(reading, markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("-+", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_default_the_first_variant_present_is_the_reference_and_the_seed_range_is_named()
    {
        // |·| of target: +3%, +5%, -4% of a 25% budget; squared of target: +20%, +25%, +18% (seeds 5, 6, 7).
        static IEnumerable<FlextronRoutingRow> Later(IEnumerable<FlextronRoutingRow> rows) => rows.Select(r => r with { Seed = r.Seed + 5 });
        var result = new FlextronRoutingResult("elastic", "lut.json", "native", 1, "test machine", 3, 200, 0.23,
            Later(Seeds("straight-through, squared, of target", 0.25, 1.20, 1.25, 1.18)).Concat(Later(Seeds("straight-through, |·|, of target", 0.25, 1.03, 1.05, 0.96))).ToList())
        { FirstSeed = 5 };
        var markdown = FlextronRoutingStudy.ToMarkdown(result);
        Assert.Contains("3 seeds per variant (5 to 7)", markdown, StringComparison.Ordinal);
        Assert.Contains("| |error|: straight-through, squared, of target |", markdown.Replace("\\|", "|", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("| straight-through, |·|, of target closer |", markdown.Replace("\\|", "|", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("| 25 % | straight-through, \\|·\\|, of target | +3.0%, +5.0%, -4.0% | +1.3% | 3/3 |", markdown, StringComparison.Ordinal);
    }
}
