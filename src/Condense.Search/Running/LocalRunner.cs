// Workers as threads of this process, pulling trials from a study. Each worker leases a trial, runs its phases,
// reports after each, and renews its lease from a timer while a phase runs, so a long phase keeps its trial and a
// dead worker's trial is requeued when its lease runs out. The same loop serves workers in other processes or on
// other machines: they only need the study (its store, or a silo in front of it).
using System.Diagnostics;
using Condense.Search.Studies;

namespace Condense.Search.Running;

/// <summary>Options of a local run.</summary>
/// <param name="Workers">Worker threads.</param>
/// <param name="CheckpointRoot">Trials' checkpoint folders go under it (trial-00012/).</param>
/// <param name="LeaseSeconds">Lease length; renewed every third of it while a phase runs.</param>
/// <param name="PollSeconds">How long a worker told to wait sleeps before asking again.</param>
/// <param name="WorkerPrefix">Workers are named PREFIX/0, PREFIX/1, ... (default: host:pid).</param>
public sealed record LocalRunOptions(int Workers, string CheckpointRoot, double LeaseSeconds = 60, double PollSeconds = 0.2, string? WorkerPrefix = null);

/// <summary>What a local run did.</summary>
/// <param name="Phases">Phases run by this process.</param>
/// <param name="BusySeconds">Worker-seconds spent in phases.</param>
/// <param name="WallSeconds">Wall time of the run.</param>
/// <param name="Workers">Workers.</param>
public sealed record LocalRunSummary(int Phases, double BusySeconds, double WallSeconds, int Workers)
{
    /// <summary>Busy share of the workers' time.</summary>
    public double Utilization => WallSeconds > 0 ? BusySeconds / (WallSeconds * Workers) : 0;
}

/// <summary>Runs a study's trials on worker threads.</summary>
public static class LocalRunner
{
    /// <summary>Runs <paramref name="objective"/> (Optuna style: it loops over phases and stops when Report says so).</summary>
    public static LocalRunSummary Optimize(IStudyClient study, Action<Trial> objective, LocalRunOptions options,
        Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Workers < 1) throw new Condense.Core.InputException($"Workers = {options.Workers}: need at least 1");
        var prefix = options.WorkerPrefix ?? $"{Environment.MachineName}:{Environment.ProcessId}";
        var lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        int phases = 0;
        long busyTicks = 0;
        var wall = Stopwatch.StartNew();
        var errors = new List<Exception>();
        var threads = Enumerable.Range(0, options.Workers).Select(i => new Thread(() =>
        {
            try
            {
                var (n, ticks) = WorkerLoop(study, objective, options, $"{prefix}/{i}", lease, log, cancellation);
                Interlocked.Add(ref phases, n);
                Interlocked.Add(ref busyTicks, ticks);
            }
            catch (Exception ex)
            {
                lock (errors) errors.Add(ex);
            }
        }) { IsBackground = true, Name = $"search worker {i}" }).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        cancellation.ThrowIfCancellationRequested();
        if (errors.Count > 0) throw errors[0] is Condense.Core.InputException ? errors[0] : new AggregateException(errors);
        return new LocalRunSummary(phases, busyTicks / (double)Stopwatch.Frequency, wall.Elapsed.TotalSeconds, options.Workers);
    }

    /// <summary>Runs a phased objective: each leased trial runs phase after phase until the study says stop.</summary>
    public static LocalRunSummary Optimize(IStudyClient study, IPhasedObjective objective, LocalRunOptions options,
        Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return Optimize(study, trial =>
        {
            try
            {
                for (int phase = trial.StartPhase; phase <= trial.Phases; phase++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    var r = objective.RunPhase(trial.Context, phase, cancellation);
                    if (!trial.Report(phase, r.Score, r.Cost)) break;
                }
            }
            finally
            {
                if (trial.LastOutcome is not { Decision: Scheduling.Decision.Pause }) objective.Release(trial.Number);
            }
        }, options, log, cancellation);
    }

    private static (int Phases, long BusyTicks) WorkerLoop(IStudyClient study, Action<Trial> objective, LocalRunOptions options, string worker,
        TimeSpan lease, Action<string>? log, CancellationToken cancellation)
    {
        int phases = 0;
        long busy = 0;
        while (!cancellation.IsCancellationRequested)
        {
            var a = study.Lease(worker, lease);
            if (a.Kind == AssignmentKind.Finished) break;
            if (a.Kind == AssignmentKind.Wait)
            {
                cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(options.PollSeconds));
                continue;
            }
            var context = new TrialContext(a.Trial, a.Config!, a.Seed, a.Phases, Path.Combine(options.CheckpointRoot, $"trial-{a.Trial:D5}"));
            if (a.StartPhase > 1) log?.Invoke($"{worker}: trial {a.Trial} resumes at phase {a.StartPhase}");
            bool leaseLost = false;
            using var heartbeat = new Timer(_ =>
            {
                try { if (!study.Heartbeat(worker, a.Trial, lease)) leaseLost = true; }
                catch (Exception) { /* the next report will tell */ }
            }, null, lease / 3, lease / 3);
            var started = Stopwatch.GetTimestamp();
            var trial = new Trial(context, a.StartPhase, (phase, score, seconds, cost) =>
            {
                phases++;
                if (leaseLost) return new ReportOutcome(Scheduling.Decision.Stop, LeaseLost: true);
                var outcome = study.Report(worker, a.Trial, phase, score, seconds, cost, lease);
                if (!outcome.KeepGoing)
                    log?.Invoke($"trial {a.Trial} {(outcome.LeaseLost ? "lost its lease" : outcome.Decision.ToString().ToLowerInvariant())} " +
                        $"after phase {phase}/{a.Phases}: score {score:G5} ({a.Config})");
                return outcome;
            });
            try
            {
                objective(trial);
                if (trial.LastOutcome is null || trial.LastOutcome.KeepGoing)
                    study.Fail(worker, a.Trial, "the objective returned while the study still wanted its next phase");
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                study.Release(worker, a.Trial); // queued at once; the next run resumes it from its checkpoint
                break;
            }
            catch (Condense.Core.InputException)
            {
                throw;
            }
            catch (Exception ex)
            {
                log?.Invoke($"{worker}: trial {a.Trial} failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
                study.Fail(worker, a.Trial, $"{ex.GetType().Name}: {ex.Message}");
            }
            finally
            {
                busy += Stopwatch.GetTimestamp() - started;
            }
        }
        return (phases, busy);
    }
}
