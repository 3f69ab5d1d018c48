using System.Diagnostics;
using Condense.Search.Studies;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>
/// `condense search`: a small study end to end, and the failures a durable study must survive with real processes:
/// a worker killed with SIGKILL mid-trial (its trial is requeued when the lease runs out and resumed from its
/// checkpoint by another worker process), and the coordinating process killed and restarted (the study continues
/// from its store; no trial is lost or completed twice).
/// </summary>
public sealed class SearchCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-search-cli-");

    public void Dispose() => _temp.Dispose();

    private static string[] RunArgs(string dir, string scheduler, int trials, params string[] extra) =>
        ["search", "run", "--dir", dir, "--scheduler", scheduler, "--trials", $"{trials}", "--phase-steps", "4000", "--workers", "2", "--lease", "2", .. extra];

    // Phases of about a third of a second, so a process can be killed while it holds a trial.
    private static string[] SlowArgs(string dir, string scheduler, int trials, int workers) =>
        ["search", "run", "--dir", dir, "--scheduler", scheduler, "--trials", $"{trials}", "--phase-steps", "60000", "--workers", $"{workers}", "--lease", "2"];

    [Fact]
    public void A_small_study_runs_to_the_end_and_status_reports_it()
    {
        var dir = Path.Combine(_temp.Path, "s");
        var r = CliProcess.Run(RunArgs(dir, "hypertrick(phases=3,r=0.5)", 6, "--json"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var status = r.Json().GetProperty("status");
        Assert.True(status.GetProperty("finished").GetBoolean());
        Assert.Equal(6, status.GetProperty("trials").GetArrayLength());
        Assert.Equal(0, status.GetProperty("by_state").GetProperty("Running").GetInt32());
        Assert.True(status.GetProperty("best").GetProperty("config").TryGetProperty("lr", out _));

        var s = CliProcess.Run("search", "status", dir, "--json");
        Assert.True(s.ExitCode == 0, s.Stderr);
        Assert.Equal(status.GetProperty("reports").GetInt32(), s.Json().GetProperty("reports").GetInt32());

        // The same command again: the study is over, nothing runs twice.
        var again = CliProcess.Run(RunArgs(dir, "hypertrick(phases=3,r=0.5)", 6, "--json"));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(status.GetProperty("reports").GetInt32(), again.Json().GetProperty("status").GetProperty("reports").GetInt32());
        // Another definition under the same name is refused, naming the field.
        var other = CliProcess.Run(RunArgs(dir, "random(phases=3)", 6, "--study", "cartpole-hypertrick"));
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("scheduler = hypertrick(phases=3,r=0.5)", other.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--scheduler", "hypertrick(phases=3,r=2)", "SurvivalRate")]
    [InlineData("--space", "lr=log(1,0.1)", "lr")]
    [InlineData("--env", "pong", "unknown environment 'pong'")]
    [InlineData("--objective", "gbm", "objective 'gbm': unknown")]
    public void Bad_input_is_one_line_naming_the_value(string option, string value, string expected)
    {
        var r = CliProcess.Run("search", "run", "--dir", Path.Combine(_temp.Path, "bad"), option, value);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void The_distill_objective_takes_one_worker_per_process()
    {
        var r = CliProcess.Run("search", "run", "--objective", "distill", "--workers", "2", "--dir", Path.Combine(_temp.Path, "d"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("one trial per process", Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_store_is_one_line_naming_the_file()
    {
        var junk = Path.Combine(_temp.Path, "junk.db");
        File.WriteAllText(junk, new string('x', 5000));
        var r = CliProcess.Run("search", "status", junk);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(junk, Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    private static void WaitForReports(string store, int atLeast, Process p, string? workerPrefix = null)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (p.HasExited) throw new InvalidOperationException($"the process exited early: {p.StandardError.ReadToEnd()}");
            if (File.Exists(store))
            {
                try
                {
                    using var db = new SqliteStudyStore(store);
                    if (db.Studies().Count == 1
                        && db.Reports(db.Studies()[0]).Count(r => workerPrefix is null || r.Worker.StartsWith(workerPrefix, StringComparison.Ordinal)) >= atLeast)
                        return;
                }
                catch (Condense.Core.InputException) { /* still being created */ }
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"{store}: fewer than {atLeast} reports after 2 minutes");
    }

    private static StudyStatus Status(string store)
    {
        using var db = new SqliteStudyStore(store);
        return Study.Attach(db, db.Studies()[0]).Status();
    }

    [Fact]
    public void A_worker_killed_mid_trial_loses_its_trial_to_another_worker_and_the_study_finishes()
    {
        var dir = Path.Combine(_temp.Path, "k");
        var store = Path.Combine(dir, "study.db");
        // The study is created by a run that only coordinates a single worker of its own; then two more processes join.
        using var first = CliProcess.Start(SlowArgs(dir, "random(phases=4)", 4, workers: 1));
        WaitForReports(store, 1, first);
        using var victim = CliProcess.Start("search", "worker", "--store", store, "--lease", "2");
        WaitForReports(store, 1, victim, $"{Environment.MachineName}:{victim.Id}/");
        victim.Kill(entireProcessTree: true); // SIGKILL: no cleanup, its lease just stops being renewed
        victim.WaitForExit();
        var survivor = CliProcess.Run("search", "worker", "--store", store, "--lease", "2");
        Assert.True(survivor.ExitCode == 0, survivor.Stderr);
        Assert.True(first.WaitForExit(TimeSpan.FromMinutes(3)));
        Assert.Equal(0, first.ExitCode);
        var status = Status(store);
        Assert.True(status.Finished);
        Assert.Equal(4, status.ByState[TrialState.Completed]);
        Assert.Equal(16, status.Reports); // every phase of every trial exactly once
        Assert.Contains(status.Trials, t => t.Requeues >= 1); // the victim's trial went to another worker
    }

    [Fact]
    public void A_killed_coordinator_is_restarted_and_the_study_continues_from_its_store()
    {
        var dir = Path.Combine(_temp.Path, "c");
        var store = Path.Combine(dir, "study.db");
        var args = SlowArgs(dir, "hypertrick(phases=4,r=0.5)", 8, workers: 2);
        using (var p = CliProcess.Start(args))
        {
            WaitForReports(store, 3, p);
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        var before = Status(store);
        Assert.False(before.Finished);
        var r = CliProcess.Run([.. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var after = Status(store);
        Assert.True(after.Finished);
        Assert.Equal(8, after.Trials.Count);
        Assert.True(after.Reports >= before.Reports);
        Assert.Equal(0, after.ByState[TrialState.Running] + after.ByState[TrialState.Queued] + after.ByState[TrialState.Failed]);
    }
}

/// <summary>The search cluster with real processes: Orleans silos with Redis membership and a Redis study store.</summary>
public sealed class SearchClusterTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-search-cluster-");
    private readonly RedisServer _redis = new();

    public void Dispose()
    {
        _redis.Dispose();
        _temp.Dispose();
    }

    private static (Process Process, System.Collections.Concurrent.ConcurrentQueue<string> Lines) Start(params string[] args)
    {
        var p = CliProcess.Start(args);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return (p, lines);
    }

    private StudyStatus Status(string study)
    {
        using var store = new Condense.Search.Cluster.RedisStudyStore(Condense.Search.Cluster.RedisAddress.Parse(_redis.Url));
        return Study.Attach(store, study).Status();
    }

    private int ReportsBy(string study, int pid)
    {
        using var store = new Condense.Search.Cluster.RedisStudyStore(Condense.Search.Cluster.RedisAddress.Parse(_redis.Url));
        if (store.Find(study) is null) return 0;
        return store.Reports(study).Count(r => r.Worker.StartsWith($"{Environment.MachineName}:{pid}/", StringComparison.Ordinal));
    }

    [Fact]
    public void Killing_the_silo_that_hosts_the_study_moves_it_to_the_other_silo_and_the_study_finishes()
    {
        var checkpoints = Path.Combine(_temp.Path, "trials");
        var (a, aLines) = Start("search", "run", "--cluster", _redis.Url, "--study", "s", "--dir", _temp.Path, "--scheduler", "random(phases=3)",
            "--trials", "10", "--phase-steps", "60000", "--workers", "1", "--lease", "3");
        var (b, bLines) = Start("search", "worker", "--cluster", _redis.Url, "--study", "s", "--checkpoints", checkpoints, "--workers", "1", "--lease", "3");
        try
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (ReportsBy("s", a.Id) < 1 || ReportsBy("s", b.Id) < 1)
            {
                Assert.True(DateTime.UtcNow < deadline, $"both silos should report within 2 minutes:\n{string.Join('\n', aLines)}\n---\n{string.Join('\n', bLines)}");
                Assert.False(a.HasExited || b.HasExited, $"a silo exited early:\n{string.Join('\n', aLines)}\n---\n{string.Join('\n', bLines)}");
                Thread.Sleep(100);
            }
            // The coordinator's process, as both silos' workers last saw it.
            var host = aLines.Concat(bLines).Where(l => l.StartsWith("study coordinator in process ", StringComparison.Ordinal))
                .Select(l => int.Parse(l["study coordinator in process ".Length..], System.Globalization.CultureInfo.InvariantCulture)).Last();
            var (victim, survivor) = host == a.Id ? (a, b) : (b, a);
            Assert.Equal(host, victim.Id);
            victim.Kill(entireProcessTree: true);
            victim.WaitForExit();
            Assert.True(survivor.WaitForExit(TimeSpan.FromMinutes(3)), "the surviving silo should finish the study");
            Assert.Equal(0, survivor.ExitCode);
            var status = Status("s");
            Assert.True(status.Finished);
            Assert.Equal(10, status.ByState[TrialState.Completed]);
            Assert.Equal(30, status.Reports); // every phase once: none lost, none run twice to completion
            var survivorLines = survivor == a ? aLines : bLines;
            Assert.Contains(survivorLines, l => l == $"study coordinator in process {survivor.Id}");
        }
        finally
        {
            foreach (var p in new[] { a, b })
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.Dispose();
            }
        }
    }

    [Fact]
    public void An_unreachable_redis_is_one_line_naming_it()
    {
        var r = CliProcess.Run("search", "status", "redis://127.0.0.1:1");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("redis://127.0.0.1:1", line, StringComparison.Ordinal);
        Assert.Contains("unreachable", line, StringComparison.Ordinal);
    }
}
