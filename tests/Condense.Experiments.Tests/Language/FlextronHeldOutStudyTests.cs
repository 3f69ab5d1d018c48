using Condense.Experiments.Language;

namespace Condense.Experiments.Tests.Language;

public sealed class FlextronHeldOutStudyTests
{
    // One row per (seed, width) of a setting on a split, retrained PPL 10, Flextron PPL 10 × (1 + gap).
    private static IEnumerable<FlextronHeldOutRow> Rows(string setting, string split, params double[] gaps) =>
        gaps.Select((g, i) => new FlextronHeldOutRow(setting, i / 2, split, i % 2 == 0 ? 0.5 : 1.0, 10 * (1 + g), 10));

    [Fact]
    public void The_rule_picks_the_smallest_worst_gap_on_the_selection_split_and_ignores_the_report_split()
    {
        // "steady" is never more than 4% worse on selection; "spiky" is better on average but 6% worse once.
        // On the report split "spiky" would win; the rule must not look there.
        var rows = Rows("spiky", FlextronHeldOutStudy.Selection, -0.10, 0.06, -0.10, 0.00)
            .Concat(Rows("steady", FlextronHeldOutStudy.Selection, 0.04, 0.04, 0.03, 0.04))
            .Concat(Rows("spiky", FlextronHeldOutStudy.Report, -0.10, 0.01, -0.10, 0.00))
            .Concat(Rows("steady", FlextronHeldOutStudy.Report, 0.04, 0.07, 0.03, 0.04)).ToList();
        Assert.Equal("steady", FlextronHeldOutStudy.Select(rows, ["spiky", "steady"]));
    }

    [Fact]
    public void Equal_worst_gaps_go_to_the_smaller_mean_gap()
    {
        var rows = Rows("a", FlextronHeldOutStudy.Selection, 0.04, 0.04).Concat(Rows("b", FlextronHeldOutStudy.Selection, -0.20, 0.04)).ToList();
        Assert.Equal("b", FlextronHeldOutStudy.Select(rows, ["a", "b"]));
    }

    [Fact]
    public void The_table_marks_the_pick_and_judges_it_on_the_report_split_seed_by_seed()
    {
        var rows = Rows("steady", FlextronHeldOutStudy.Selection, 0.04, 0.04, 0.03, 0.04)
            .Concat(Rows("steady", FlextronHeldOutStudy.Report, 0.04, 0.07, 0.03, 0.04))
            .Concat(Rows("spiky", FlextronHeldOutStudy.Selection, -0.10, 0.06, -0.10, 0.00))
            .Concat(Rows("spiky", FlextronHeldOutStudy.Report, -0.10, 0.01, -0.10, 0.00)).ToList();
        var result = new FlextronHeldOutResult("m", 2, [0.5, 1.0], 0.05, 1000, 200_000, 3302, 600_000, ["spiky", "steady"], rows,
            FlextronHeldOutStudy.Select(rows, ["spiky", "steady"]));
        var markdown = FlextronHeldOutStudy.ToMarkdown(result);
        // The pick comes first, with its worst gaps on both splits; on the report split seed 0's full width is 7% over.
        Assert.Contains("| **steady** (picked) | +4.0% | +7.0% | +3.5% → +3.5% | +4.0% → +5.5% | no |", markdown, StringComparison.Ordinal);
        Assert.Contains("| spiky | +6.0% | +1.0% |", markdown, StringComparison.Ordinal);
        Assert.True(markdown.IndexOf("**steady**", StringComparison.Ordinal) < markdown.IndexOf("| spiky |", StringComparison.Ordinal));
        Assert.Contains("| 100 % | 10.000 ± 0.000 | 10.550 ± 0.212 | +7.0%, +4.0% | +4.0%, +4.0% | 1 of 2 seeds |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 50 % | 10.000 ± 0.000 | 10.350 ± 0.071 | +4.0%, +3.0% | +4.0%, +3.0% | yes |", markdown, StringComparison.Ordinal);
    }
}
