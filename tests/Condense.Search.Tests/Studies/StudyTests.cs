using Condense.Core;
using Condense.Search.Running;
using Condense.Search.Scheduling;
using Condense.Search.Studies;
using Condense.Testing;

namespace Condense.Search.Tests.Studies;

public sealed class StudyTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-study-");

    public void Dispose() => _temp.Dispose();

    private string Db(string name = "study.db") => Path.Combine(_temp.Path, name);

    private static StudyDefinition Def(string scheduler, int maxTrials = 40, string name = "s") =>
        new(name, "synthetic", "x=uniform(0,1)", scheduler, 5, Direction.Maximize, maxTrials);

    private (VirtualRunSummary Summary, StudyStatus Status, List<ReportRecord> Reports) RunVirtual(string scheduler, int workers, string db, int maxTrials = 40)
    {
        using var store = new SqliteStudyStore(db);
        var clock = new VirtualClock();
        var study = Study.Open(store, Def(scheduler, maxTrials), clock);
        var summary = VirtualCluster.Run(study, clock, new SyntheticCurves(), workers, Path.Combine(_temp.Path, "ckpt"));
        return (summary, study.Status(), [.. store.Reports("s")]);
    }

    [Theory]
    [InlineData("hypertrick(phases=9,r=0.5)")]
    [InlineData("random(phases=9)")]
    [InlineData("asha(phases=9,eta=3)")]
    [InlineData("asha-promotion(phases=9,eta=3)")]
    [InlineData("hyperband(phases=9,eta=3)")]
    [InlineData("median(phases=9)")]
    public void Every_scheduler_finishes_a_study_on_virtual_workers_and_replays_identically(string scheduler)
    {
        var a = RunVirtual(scheduler, 4, Db("a.db"));
        var b = RunVirtual(scheduler, 4, Db("b.db"));
        Assert.Equal(a.Reports.Select(r => (r.Trial, r.Phase, r.Score, r.Decision, r.Worker)), b.Reports.Select(r => (r.Trial, r.Phase, r.Score, r.Decision, r.Worker)));
        Assert.Equal(0, a.Status.ByState[TrialState.Running] + a.Status.ByState[TrialState.Queued]);
        Assert.Equal(40, a.Status.Trials.Count);
        Assert.NotNull(a.Status.Best);
        Assert.True(a.Status.ByState[TrialState.Completed] >= 1);
        // No trial reports a phase twice, and phases come in order.
        foreach (var g in a.Reports.GroupBy(r => r.Trial))
            Assert.Equal(Enumerable.Range(1, g.Count()), g.OrderBy(r => r.Sequence).Select(r => r.Phase));
        Assert.InRange(a.Summary.Utilization, 0, 1);
    }

    [Fact]
    public void Early_stopping_saves_compute_and_only_the_synchronous_scheduler_idles()
    {
        var random = RunVirtual("random(phases=9)", 4, Db("r.db"));
        var hypertrick = RunVirtual("hypertrick(phases=9,r=0.5)", 4, Db("h.db"));
        var hyperband = RunVirtual("hyperband(phases=9,eta=3)", 4, Db("hb.db"), maxTrials: 60);
        Assert.Equal(40 * 9, random.Summary.Compute);
        Assert.True(hypertrick.Summary.Compute < 0.6 * random.Summary.Compute, $"{hypertrick.Summary.Compute}");
        // Asynchronous: every worker busy until the queue drains (the tail, where fewer than 4 trials remain, aside).
        Assert.True(hypertrick.Summary.Utilization > 0.85, $"{hypertrick.Summary.Utilization}");
        Assert.True(hyperband.Summary.Utilization < hypertrick.Summary.Utilization, $"{hyperband.Summary.Utilization}");
        // Good configurations survive: HyperTrick's best is close to random search's, which ran everything to the end.
        Assert.True(hypertrick.Status.Best!.Score > random.Status.Best!.Score - 0.05);
    }

    [Fact]
    public void A_lost_lease_requeues_the_trial_and_the_old_worker_is_refused()
    {
        var clock = new VirtualClock();
        using var store = new SqliteStudyStore(Db());
        var study = Study.Open(store, Def("random(phases=3)", maxTrials: 1), clock);
        var lease = TimeSpan.FromSeconds(10);
        var a = study.Lease("A", lease);
        Assert.Equal((AssignmentKind.Run, 0L, 1), (a.Kind, a.Trial, a.StartPhase));
        Assert.True(study.Report("A", 0, 1, 0.1, 1, 1, lease).KeepGoing);
        clock.Now = 100; // A dies; its lease runs out
        var b = study.Lease("B", lease);
        Assert.Equal((AssignmentKind.Run, 0L, 2), (b.Kind, b.Trial, b.StartPhase)); // resumed where A stopped
        Assert.True(study.Report("A", 0, 2, 0.2, 1, 1, lease).LeaseLost);         // A comes back: refused
        Assert.True(study.Report("B", 0, 2, 0.3, 1, 1, lease).KeepGoing);
        var again = study.Report("B", 0, 2, 0.3, 1, 1, lease);                     // a retried report
        Assert.True(again.Duplicate);
        Assert.Equal(Decision.Complete, study.Report("B", 0, 3, 0.4, 1, 1, lease).Decision);
        Assert.Equal(AssignmentKind.Finished, study.Lease("A", lease).Kind);
        var status = study.Status();
        Assert.Equal(1, status.ByState[TrialState.Completed]);
        Assert.Equal(1, status.Trials[0].Phase == 3 ? 1 : 0);
        Assert.Equal(3, status.Reports);
    }

    [Fact]
    public void A_restarted_coordinator_continues_from_the_store()
    {
        // Half a study, then the store is closed (the coordinator dies) and reopened by a new one.
        var clock = new VirtualClock();
        var lease = TimeSpan.FromSeconds(10);
        using (var store = new SqliteStudyStore(Db()))
        {
            var study = Study.Open(store, Def("hypertrick(phases=2,r=0.5)", maxTrials: 6), clock);
            for (int i = 0; i < 3; i++)
            {
                var a = study.Lease("w", lease);
                study.Report("w", a.Trial, 1, a.Config!["x"].AsDouble, 1, 1, lease);
                if (study.Status().Trials[(int)a.Trial].State == TrialState.Running) study.Report("w", a.Trial, 2, 1, 1, 1, lease);
            }
        }
        using (var store = new SqliteStudyStore(Db()))
        {
            var study = Study.Open(store, Def("hypertrick(phases=2,r=0.5)", maxTrials: 6), clock);
            var a = study.Lease("w2", lease);
            Assert.Equal(3, a.Trial); // numbering continues
            study.Report("w2", a.Trial, 1, 2.0, 1, 1, lease);
            var scheduler = (HyperTrickScheduler)SchedulerSpec.Parse(study.Definition.Scheduler);
            scheduler.LoadState(store.Update("s", s => s.SchedulerState));
            Assert.Equal(4, scheduler.ReportsAt(1)); // the scheduler remembers the first coordinator's reports
        }
    }

    [Fact]
    public void Reopening_with_another_definition_names_the_field()
    {
        using var store = new SqliteStudyStore(Db());
        Study.Open(store, Def("random(phases=3)"));
        var ex = Assert.Throws<InputException>(() => Study.Open(store, Def("random(phases=4)")));
        Assert.Contains("scheduler = random(phases=3)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_or_foreign_file_is_a_one_line_error_naming_it()
    {
        var junk = Db("junk.db");
        File.WriteAllBytes(junk, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7))]);
        var ex = Assert.Throws<InputException>(() => new SqliteStudyStore(junk));
        Assert.Contains(junk, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);

        var foreign = Db("foreign.db");
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={foreign};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE customers(id INTEGER)";
            cmd.ExecuteNonQuery();
        }
        ex = Assert.Throws<InputException>(() => new SqliteStudyStore(foreign));
        Assert.Contains("not a Condense search store", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_worker_threads_run_an_optuna_style_objective_to_the_end()
    {
        using var store = new SqliteStudyStore(Db());
        var study = Study.Open(store, Def("hypertrick(phases=4,r=0.5)", maxTrials: 12));
        int calls = 0;
        var summary = LocalRunner.Optimize(study, trial =>
        {
            double x = trial.Float("x");
            for (int phase = trial.StartPhase; phase <= trial.Phases; phase++)
            {
                Interlocked.Increment(ref calls);
                if (!trial.Report(phase, x * phase)) return;
            }
        }, new LocalRunOptions(Workers: 3, CheckpointRoot: Path.Combine(_temp.Path, "ckpt"), PollSeconds: 0.01));
        var status = study.Status();
        Assert.Equal(12, status.Trials.Count);
        Assert.Equal(0, status.ByState[TrialState.Running] + status.ByState[TrialState.Queued] + status.ByState[TrialState.Failed]);
        Assert.Equal(calls, status.Reports);
        Assert.Equal(calls, summary.Phases);
        Assert.True(status.Finished);
    }

    [Fact]
    public void An_objective_that_throws_fails_its_trial_and_the_study_goes_on()
    {
        using var store = new SqliteStudyStore(Db());
        var study = Study.Open(store, Def("random(phases=2)", maxTrials: 4));
        LocalRunner.Optimize(study, trial =>
        {
            if (trial.Number == 1) throw new InvalidOperationException("diverged\nstack");
            for (int phase = trial.StartPhase; phase <= trial.Phases; phase++)
                if (!trial.Report(phase, 1)) return;
        }, new LocalRunOptions(Workers: 2, CheckpointRoot: Path.Combine(_temp.Path, "ckpt"), PollSeconds: 0.01));
        var status = study.Status();
        Assert.Equal(1, status.ByState[TrialState.Failed]);
        Assert.Equal(3, status.ByState[TrialState.Completed]);
    }
}
