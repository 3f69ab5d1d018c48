// The coordinator of a study. It holds no state of its own: every operation loads the study from the store, applies
// the scheduler, and writes the changes back in one transaction. A coordinator that dies loses nothing; a new one (in
// this process or another, or a silo that takes over) continues from the store. Leases: a worker holds the trial it
// runs until its lease runs out; a report or a heartbeat renews it; a lease that runs out sends the trial back to the
// queue, and the next free worker resumes it at the first phase not yet reported (from its checkpoint). A report that
// arrives twice (a retry) gets the first answer again; a report from a worker whose lease was taken is refused.
using System.Text.Json;
using Condense.Core;
using Condense.Search.Scheduling;
using Condense.Search.Spaces;

namespace Condense.Search.Studies;

/// <summary>What a worker is told to do.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum AssignmentKind
{
    /// <summary>Run <see cref="Assignment.Trial"/> from <see cref="Assignment.StartPhase"/>.</summary>
    Run,
    /// <summary>Nothing to do now; ask again after a while.</summary>
    Wait,
    /// <summary>The study is over.</summary>
    Finished,
}

/// <summary>A worker's next job.</summary>
/// <param name="Kind">Run, wait or stop asking.</param>
/// <param name="Trial">The trial to run (Run only).</param>
/// <param name="Config">Its configuration (Run only).</param>
/// <param name="StartPhase">The first phase to run; above 1 the objective resumes from the trial's checkpoint.</param>
/// <param name="Phases">The trial's last phase.</param>
/// <param name="Seed">The trial's own seed (from the study seed and the trial number).</param>
public sealed record Assignment(AssignmentKind Kind, long Trial = -1, TrialConfig? Config = null, int StartPhase = 0, int Phases = 0, ulong Seed = 0)
{
    internal static readonly Assignment WaitNow = new(AssignmentKind.Wait);
    internal static readonly Assignment Done = new(AssignmentKind.Finished);
}

/// <summary>The answer to a report.</summary>
/// <param name="Decision">Continue, stop, pause or complete.</param>
/// <param name="LeaseLost">The worker no longer held the trial's lease: the report was not recorded; stop running it.</param>
/// <param name="Duplicate">The phase had been reported before; this is the first report's decision.</param>
public sealed record ReportOutcome(Decision Decision, bool LeaseLost = false, bool Duplicate = false)
{
    /// <summary>True when the worker should run the next phase.</summary>
    public bool KeepGoing => Decision == Decision.Continue && !LeaseLost;
}

/// <summary>A study's coordinator over a durable store.</summary>
public sealed class Study : IStudyClient
{
    private readonly IStudyStore _store;
    private readonly TimeProvider _clock;

    private Study(IStudyStore store, StudyDefinition definition, TimeProvider clock)
    {
        _store = store;
        Definition = definition;
        Space = SearchSpace.Parse(definition.Space);
        Phases = SchedulerSpec.Parse(definition.Scheduler).Phases;
        _clock = clock;
    }

    /// <summary>The study's definition.</summary>
    public StudyDefinition Definition { get; }

    /// <summary>Its search space.</summary>
    public SearchSpace Space { get; }

    /// <summary>Phases of a trial that runs to the end (from the scheduler).</summary>
    public int Phases { get; }

    /// <summary>The store it lives in.</summary>
    public IStudyStore Store => _store;

    /// <summary>
    /// Opens study <paramref name="definition"/>.Name in <paramref name="store"/>, creating it when new. An existing
    /// study with another definition is an <see cref="InputException"/> naming the first field that differs.
    /// </summary>
    public static Study Open(IStudyStore store, StudyDefinition definition, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        var existing = store.Find(definition.Name);
        if (existing is null) store.Create(definition, SchedulerSpec.Parse(definition.Scheduler).SaveState());
        else if (existing != definition)
        {
            var field = typeof(StudyDefinition).GetProperties().First(p => !Equals(p.GetValue(existing), p.GetValue(definition)));
            throw new InputException($"{store.Location}: study '{definition.Name}' exists with {ToSnake(field.Name)} = {field.GetValue(existing)}, " +
                $"not {field.GetValue(definition)}; use another study name to start over");
        }
        return new Study(store, definition, clock ?? TimeProvider.System);
    }

    /// <summary>Attaches to an existing study by name (workers and status); a missing study is an input error.</summary>
    public static Study Attach(IStudyStore store, string name, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        var definition = store.Find(name) ?? throw new InputException($"{store.Location}: no study named '{name}'");
        return new Study(store, definition, clock ?? TimeProvider.System);
    }

    private static string ToSnake(string name) => string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>The seed of trial <paramref name="trial"/> (for its own training randomness).</summary>
    public ulong TrialSeed(long trial) => Definition.Seed * 0x9E3779B97F4A7C15UL + (ulong)trial * 0xBF58476D1CE4E5B9UL + 1;

    private ITrialScheduler Scheduler(StudySnapshot s)
    {
        var scheduler = SchedulerSpec.Parse(Definition.Scheduler);
        scheduler.LoadState(s.SchedulerState);
        return scheduler;
    }

    // Scores go to schedulers as "higher is better"; a non-finite score is the worst possible.
    private double Oriented(double score) =>
        !double.IsFinite(score) ? double.NegativeInfinity : Definition.Direction == Direction.Maximize ? score : -score;

    /// <summary>The next job for <paramref name="worker"/>, holding a lease of <paramref name="leaseFor"/>;
    /// <paramref name="allowNew"/> false starts no new trial (a runner's compute budget is spent).</summary>
    public Assignment Lease(string worker, TimeSpan leaseFor, bool allowNew = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(worker);
        var now = _clock.GetUtcNow();
        return _store.Update(Definition.Name, s =>
        {
            ExpireLeases(s, now, worker);
            var queued = s.Trials.Values.Where(t => t.State == TrialState.Queued).OrderBy(t => t.Number).FirstOrDefault();
            if (queued is not null) return Take(s, queued, queued.NextPhase, worker, now + leaseFor);
            var scheduler = Scheduler(s);
            var work = scheduler.Next(mayStartNew: allowNew && s.NextTrial < Definition.MaxTrials);
            Assignment result;
            switch (work)
            {
                case Work.NewTrial:
                {
                    var number = s.NextTrial++;
                    var config = Space.Sample(Definition.Seed, number);
                    var trial = new TrialRecord { Number = number, ConfigJson = ConfigJson(config), Created = now, State = TrialState.Running };
                    s.Add(trial);
                    scheduler.Started(number);
                    result = Take(s, trial, 1, worker, now + leaseFor);
                    break;
                }
                case Work.Resume resume:
                    result = Take(s, s.Trials[resume.Trial], resume.Phase, worker, now + leaseFor);
                    break;
                default:
                    result = s.Trials.Values.Any(t => t.State is TrialState.Running or TrialState.Queued) ? Assignment.WaitNow : Assignment.Done;
                    break;
            }
            s.SchedulerState = scheduler.SaveState();
            return result;
        });
    }

    private Assignment Take(StudySnapshot s, TrialRecord trial, int phase, string worker, DateTimeOffset until)
    {
        trial.State = TrialState.Running;
        trial.Worker = worker;
        trial.LeaseUntil = until;
        trial.NextPhase = phase;
        s.Changed(trial);
        return new Assignment(AssignmentKind.Run, trial.Number, ParseConfig(trial.ConfigJson), phase, Phases,
            TrialSeed(trial.Number));
    }

    // Running trials whose lease ran out, and any the asking worker still holds (it restarted), go back to the queue.
    private static void ExpireLeases(StudySnapshot s, DateTimeOffset now, string? asking)
    {
        foreach (var t in s.Trials.Values.Where(t => t.State == TrialState.Running && (t.LeaseUntil < now || t.Worker == asking)).ToList())
        {
            t.State = TrialState.Queued;
            t.Worker = null;
            t.LeaseUntil = null;
            t.Requeues++;
            s.Changed(t);
        }
    }

    /// <summary>
    /// <paramref name="worker"/> finished <paramref name="phase"/> of <paramref name="trial"/> with <paramref name="score"/>
    /// (<paramref name="seconds"/> of wall time, <paramref name="cost"/> in the objective's compute unit).
    /// </summary>
    public ReportOutcome Report(string worker, long trial, int phase, double score, double seconds, double cost, TimeSpan leaseFor)
    {
        var now = _clock.GetUtcNow();
        return _store.Update(Definition.Name, s =>
        {
            if (!s.Trials.TryGetValue(trial, out var t)) throw new ArgumentException($"study {Definition.Name} has no trial {trial}", nameof(trial));
            if (s.FindReport(trial, phase) is { } earlier) return new ReportOutcome(earlier.Decision, Duplicate: true);
            if (t.State != TrialState.Running || t.Worker != worker) return new ReportOutcome(Decision.Stop, LeaseLost: true);
            if (phase != t.NextPhase) throw new ArgumentException($"trial {trial} expects phase {t.NextPhase}, got {phase}", nameof(phase));
            var scheduler = Scheduler(s);
            var decision = scheduler.Report(trial, phase, Oriented(score));
            // A diverged trial (NaN or infinite score) is never continued, whatever the rule.
            if (!double.IsFinite(score) && decision is Decision.Continue or Decision.Pause) decision = Decision.Stop;
            s.AddReport(new ReportRecord(trial, phase, score, decision, worker, seconds, cost, 0, now));
            t.LastPhase = phase;
            t.NextPhase = phase + 1;
            t.LastScore = score;
            switch (decision)
            {
                case Decision.Continue:
                    t.LeaseUntil = now + leaseFor;
                    break;
                case Decision.Pause:
                    t.State = TrialState.Paused;
                    t.Worker = null;
                    t.LeaseUntil = null;
                    break;
                default:
                    t.State = decision == Decision.Complete ? TrialState.Completed : TrialState.Stopped;
                    t.Worker = null;
                    t.LeaseUntil = null;
                    t.Ended = now;
                    break;
            }
            s.Changed(t);
            s.SchedulerState = scheduler.SaveState();
            return new ReportOutcome(decision);
        });
    }

    /// <summary>Renews <paramref name="worker"/>'s lease on <paramref name="trial"/>; false when it no longer holds it.</summary>
    public bool Heartbeat(string worker, long trial, TimeSpan leaseFor)
    {
        var now = _clock.GetUtcNow();
        return _store.Update(Definition.Name, s =>
        {
            if (!s.Trials.TryGetValue(trial, out var t) || t.State != TrialState.Running || t.Worker != worker) return false;
            t.LeaseUntil = now + leaseFor;
            s.Changed(t);
            return true;
        });
    }

    /// <summary>The objective threw on <paramref name="trial"/>: it is marked failed and never retried.</summary>
    public void Fail(string worker, long trial, string error)
    {
        var now = _clock.GetUtcNow();
        _store.Update(Definition.Name, s =>
        {
            if (!s.Trials.TryGetValue(trial, out var t) || t.State != TrialState.Running || t.Worker != worker) return false;
            t.State = TrialState.Failed;
            t.Error = error.Split('\n')[0];
            t.Worker = null;
            t.LeaseUntil = null;
            t.Ended = now;
            s.Changed(t);
            var scheduler = Scheduler(s);
            scheduler.Abandon(trial);
            s.SchedulerState = scheduler.SaveState();
            return true;
        });
    }

    /// <summary>
    /// <paramref name="worker"/> gives <paramref name="trial"/> back unfinished (it was interrupted): the trial is queued at
    /// once for the next worker, at its first unreported phase, instead of waiting for the lease to run out.
    /// </summary>
    public bool Release(string worker, long trial)
    {
        var now = _clock.GetUtcNow();
        return _store.Update(Definition.Name, s =>
        {
            if (!s.Trials.TryGetValue(trial, out var t) || t.State != TrialState.Running || t.Worker != worker) return false;
            t.LeaseUntil = now.AddTicks(-1);
            ExpireLeases(s, now, asking: null);
            return true;
        });
    }

    /// <summary>Where the study stands now (leases that ran out are counted as queued).</summary>
    public StudyStatus Status()
    {
        var now = _clock.GetUtcNow();
        var trials = _store.Update(Definition.Name, s =>
        {
            ExpireLeases(s, now, asking: null);
            return s.Trials.Values.OrderBy(t => t.Number).ToList();
        });
        return StudyStatus.From(this, trials, _store.Reports(Definition.Name), now);
    }

    /// <summary>A configuration as stored: name → number or string.</summary>
    public static string ConfigJson(TrialConfig config) => JsonSerializer.Serialize(config);

    /// <summary>A stored configuration.</summary>
    public static TrialConfig ParseConfig(string json) => JsonSerializer.Deserialize<TrialConfig>(json)
        ?? throw new JsonException("empty configuration");
}
