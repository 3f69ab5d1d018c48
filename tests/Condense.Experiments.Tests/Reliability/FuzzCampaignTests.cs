using Condense.Core;
using Condense.Experiments.Reliability;

namespace Condense.Experiments.Tests.Reliability;

/// <summary>
/// The hostile-input harness (issue 13): a few hundred seeded cases over every input file, zero internal errors,
/// unclear messages or hangs; and the harness itself counts what it must count.
/// </summary>
public sealed class FuzzCampaignTests
{
    [Fact]
    public void Three_hundred_cases_over_every_target_end_in_acceptance_or_a_one_line_rejection()
    {
        var report = FuzzCampaign.Run(new FuzzOptions(Cases: 300, Seed: 0));
        Assert.True(report.FailureCount == 0,
            string.Join("\n", report.Failures.Select(c => $"{c.Target} case {c.Index} ({c.Mutation}): {c.Outcome}: {c.Message}")));
        Assert.Equal(FuzzTarget.All().Select(t => t.Name), report.Targets.Select(t => t.Target));
        foreach (var t in report.Targets)
        {
            Assert.Equal(50, t.Cases);
            Assert.True(t.Rejected > 0, $"{t.Target}: no case was rejected, so the mutations do not reach its checks");
        }
    }

    [Fact]
    public void A_case_is_reproduced_by_the_seed_and_its_index()
    {
        var seen = new List<string>();
        var again = new List<string>();
        FuzzCampaign.Run(new FuzzOptions(Cases: 24, Seed: 7), c => seen.Add($"{c.Target} {c.Index} {c.Mutation} {c.Outcome}"));
        FuzzCampaign.Run(new FuzzOptions(Cases: 24, Seed: 7), c => again.Add($"{c.Target} {c.Index} {c.Mutation} {c.Outcome}"));
        Assert.Equal(seen, again);
        var other = new List<string>();
        FuzzCampaign.Run(new FuzzOptions(Cases: 24, Seed: 8), c => other.Add(c.Mutation));
        Assert.NotEqual(seen.Select(s => s.Split(' ', 3)[2]), other);
    }

    [Fact]
    public void Only_one_line_input_errors_count_as_clean_rejections()
    {
        Assert.Equal(FuzzOutcome.Accepted, FuzzCampaign.Classify("t", 0, "m", null, 0).Outcome);
        Assert.Equal(FuzzOutcome.Rejected, FuzzCampaign.Classify("t", 0, "m", new InputException("f: bad"), 0).Outcome);
        Assert.Equal(FuzzOutcome.Rejected, FuzzCampaign.Classify("t", 0, "m", new NonFiniteResultException("the loss", double.NaN), 0).Outcome);
        Assert.Equal(FuzzOutcome.Unclear, FuzzCampaign.Classify("t", 0, "m", new InputException("f: bad\n  at line 2"), 0).Outcome);
        Assert.Equal(FuzzOutcome.Internal, FuzzCampaign.Classify("t", 0, "m", new InvalidOperationException("state"), 0).Outcome);
    }

    [Fact]
    public void Unknown_target_names_the_option()
    {
        var ex = Assert.Throws<InputException>(() => FuzzCampaign.Run(new FuzzOptions(Cases: 1, Targets: ["gguf"])));
        Assert.Equal("Targets", ex.Option);
    }
}
