using Condense.Core.Data;
using Condense.Search.Scheduling;

namespace Condense.Search.Tests.Scheduling;

public sealed class SchedulerTests
{
    [Fact]
    public void HyperTrick_applies_its_rule_exactly_on_a_small_example()
    {
        // r = 0.5, warm-up 2: the first report continues; after that a score continues when fewer than r·n of the
        // n scores at the phase (its own included) are strictly better.
        var s = new HyperTrickScheduler(new HyperTrickOptions(Phases: 3, SurvivalRate: 0.5, WarmupReports: 2));
        Assert.Equal(Decision.Continue, s.Report(0, 1, 5));  // warm-up
        Assert.Equal(Decision.Stop, s.Report(1, 1, 3));      // 1 of 2 better: 1 < 1 fails
        Assert.Equal(Decision.Continue, s.Report(2, 1, 7));  // 0 of 3 better
        Assert.Equal(Decision.Continue, s.Report(3, 1, 5));  // 1 of 4 better (ties do not count): 1 < 2
        Assert.Equal(Decision.Stop, s.Report(4, 1, 4));      // 3 of 5 better: 3 < 2.5 fails
        Assert.Equal(Decision.Continue, s.Report(0, 2, 1));  // phase 2: warm-up again
        Assert.Equal(Decision.Complete, s.Report(0, 3, 0));  // the last phase always completes
    }

    [Fact]
    public void HyperTrick_lets_about_a_fraction_r_through_each_phase()
    {
        // Independent random scores: the share continuing past a phase tends to r, so about Ne·r^(φ−1) trials reach φ.
        foreach (var r in new[] { 0.25, 0.5, 0.75 })
        {
            var s = new HyperTrickScheduler(new HyperTrickOptions(Phases: 4, SurvivalRate: r));
            var rng = new SplitMix64(11);
            var reached = new int[5];
            for (long t = 0; t < 4000; t++)
            {
                for (int phase = 1; phase <= 4; phase++)
                {
                    reached[phase]++;
                    if (s.Report(t, phase, rng.NextDouble()) != Decision.Continue) break;
                }
            }
            for (int phase = 2; phase <= 4; phase++)
                Assert.InRange(reached[phase] / (double)reached[phase - 1], r - 0.04, r + 0.04);
        }
    }

    [Fact]
    public void HyperTrick_with_r_one_is_random_search()
    {
        var s = new HyperTrickScheduler(new HyperTrickOptions(Phases: 3, SurvivalRate: 1));
        var rng = new SplitMix64(1);
        for (long t = 0; t < 100; t++)
            for (int phase = 1; phase < 3; phase++) Assert.Equal(Decision.Continue, s.Report(t, phase, rng.NextDouble()));
    }

    [Fact]
    public void HyperTrick_state_survives_save_and_load()
    {
        var a = new HyperTrickScheduler(new HyperTrickOptions(Phases: 3));
        a.Report(0, 1, 5);
        a.Report(1, 1, 6);
        var b = new HyperTrickScheduler(new HyperTrickOptions(Phases: 3));
        b.LoadState(a.SaveState());
        Assert.Equal(a.Report(2, 1, 5.5), b.Report(2, 1, 5.5));
        Assert.Equal(3, b.ReportsAt(1));
    }

    [Fact]
    public void Asha_stopping_uses_rays_cutoff_at_its_rungs()
    {
        var s = new AshaScheduler(new AshaOptions(Phases: 9, ReductionFactor: 3, GracePhases: 1));
        Assert.Equal([1, 3, 9], s.Milestones);
        Assert.Equal(Decision.Continue, s.Report(0, 1, 0.5));  // first at the rung: nothing to compare with
        Assert.Equal(Decision.Continue, s.Report(1, 1, 0.9));  // cutoff = 66.7th percentile of {0.5} = 0.5
        Assert.Equal(Decision.Stop, s.Report(2, 1, 0.6));      // cutoff of {0.5, 0.9} = 0.767
        Assert.Equal(Decision.Continue, s.Report(1, 2, 0.1));  // not a rung
        Assert.Equal(Decision.Continue, s.Report(1, 3, 0.95));
        Assert.Equal(Decision.Complete, s.Report(1, 9, 0.99));
    }

    [Fact]
    public void Asha_promotion_pauses_at_rungs_and_promotes_the_top_third()
    {
        var s = new AshaScheduler(new AshaOptions(Phases: 9, ReductionFactor: 3, GracePhases: 1, Promotion: true));
        for (long t = 0; t < 3; t++)
        {
            Assert.IsType<Work.NewTrial>(s.Next(mayStartNew: true));
            s.Started(t);
            Assert.Equal(Decision.Pause, s.Report(t, 1, new[] { 0.2, 0.8, 0.5 }[t]));
        }
        // ⌊3/3⌋ = 1 promotable: trial 1, resumed at phase 2 to run until rung 3.
        Assert.Equal(new Work.Resume(1, 2), s.Next(mayStartNew: true));
        Assert.IsType<Work.NewTrial>(s.Next(mayStartNew: true)); // trial 1 already promoted; nothing else qualifies
        Assert.Equal(Decision.Continue, s.Report(1, 2, 0.85));
        Assert.Equal(Decision.Pause, s.Report(1, 3, 0.9));
        Assert.IsType<Work.None>(s.Next(mayStartNew: false));   // rung 1 has one trial: ⌊1/3⌋ = 0 promotable
    }

    [Fact]
    public void Hyperband_brackets_follow_the_paper()
    {
        var o = new HyperbandOptions(Phases: 9, ReductionFactor: 3);
        Assert.Equal(2, o.MaxBracket);
        Assert.Equal([(9, 1), (3, 3), (1, 9)], o.Rounds(2));
        Assert.Equal([(5, 3), (1, 9)], o.Rounds(1));
        Assert.Equal([(3, 9)], o.Rounds(0));
        var big = new HyperbandOptions(Phases: 81, ReductionFactor: 3);
        Assert.Equal([81, 34, 15, 8, 5], Enumerable.Range(0, 5).Select(i => big.Rounds(4 - i)[0].Trials));
    }

    [Fact]
    public void Hyperband_waits_at_the_barrier_until_the_whole_round_reported()
    {
        var s = new HyperbandScheduler(new HyperbandOptions(Phases: 9, ReductionFactor: 3));
        for (long t = 0; t < 9; t++)
        {
            Assert.IsType<Work.NewTrial>(s.Next(true));
            s.Started(t);
        }
        Assert.IsType<Work.None>(s.Next(true)); // 9 started, none reported: the barrier
        for (long t = 0; t < 8; t++) Assert.Equal(Decision.Pause, s.Report(t, 1, t));
        Assert.IsType<Work.None>(s.Next(true)); // one still running
        Assert.Equal(Decision.Pause, s.Report(8, 1, -1));
        // Top 3 of round 0 (scores 7, 6, 5) resume at phase 2 for rung 3.
        Assert.Equal(new Work.Resume(7, 2), s.Next(true));
        Assert.Equal(new Work.Resume(6, 2), s.Next(true));
        Assert.Equal(new Work.Resume(5, 2), s.Next(true));
        Assert.IsType<Work.None>(s.Next(true));
    }

    [Fact]
    public void Hyperband_moves_on_when_a_member_fails()
    {
        var s = new HyperbandScheduler(new HyperbandOptions(Phases: 3, ReductionFactor: 3));
        Assert.Equal([(3, 1), (1, 3)], s.Options.Rounds(1));
        for (long t = 0; t < 3; t++) { s.Next(true); s.Started(t); }
        s.Report(0, 1, 1);
        s.Report(1, 1, 2);
        s.Abandon(2);
        Assert.Equal(new Work.Resume(1, 2), s.Next(true));
    }

    [Fact]
    public void Median_stopping_stops_below_the_median_of_the_others_after_grace()
    {
        var s = new PercentileStoppingScheduler(new PercentileStoppingOptions(Phases: 5, Percentile: 50, GracePhases: 1, MinTrials: 3));
        for (long t = 0; t < 3; t++) { s.Report(t, 1, t); s.Report(t, 2, t); }
        Assert.Equal(Decision.Continue, s.Report(3, 1, -5));   // grace
        Assert.Equal(Decision.Stop, s.Report(3, 2, 0.5));      // best 0.5 < median {0,1,2} = 1
        Assert.Equal(Decision.Continue, s.Report(4, 2, 1.5));
    }

    [Theory]
    [InlineData("hypertrick(phases=0)", "Phases")]
    [InlineData("hypertrick(phases=4,r=1.5)", "SurvivalRate")]
    [InlineData("asha(eta=1)", "ReductionFactor")]
    [InlineData("hyperband(phases=9,min_phases=10)", "MinPhases")]
    [InlineData("median(percentile=100)", "Percentile")]
    [InlineData("simulated-annealing", "unknown scheduler")]
    [InlineData("asha(phases=9,speed=2)", "unknown option 'speed'")]
    public void Bad_scheduler_specs_are_one_line_input_errors(string spec, string expected)
    {
        var ex = Assert.Throws<Condense.Core.InputException>(() => Condense.Search.Studies.SchedulerSpec.Parse(spec));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
