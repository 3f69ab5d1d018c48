using Condense.Search.Spaces;

namespace Condense.Search.Studies;

/// <summary>A trial's summary line.</summary>
/// <param name="Trial">Its number.</param>
/// <param name="State">Its state.</param>
/// <param name="Phase">The last phase it reported.</param>
/// <param name="Score">Its last score, or null.</param>
/// <param name="Config">Its configuration.</param>
/// <param name="Worker">Who holds it (running trials).</param>
/// <param name="Requeues">How often it went to another worker after a lost lease.</param>
public sealed record TrialSummary(long Trial, TrialState State, int Phase, double? Score, TrialConfig Config, string? Worker, int Requeues);

/// <summary>One worker's share of the work, from its reports.</summary>
/// <param name="Worker">Its name.</param>
/// <param name="Phases">Phases it reported.</param>
/// <param name="BusySeconds">Seconds spent running them.</param>
/// <param name="SpanSeconds">From the start of its first reported phase to its last report.</param>
public sealed record WorkerSummary(string Worker, int Phases, double BusySeconds, double SpanSeconds)
{
    /// <summary>Busy share of its span.</summary>
    public double Utilization => SpanSeconds > 0 ? Math.Min(1, BusySeconds / SpanSeconds) : 0;
}

/// <summary>Where a study stands.</summary>
/// <param name="Name">The study.</param>
/// <param name="Scheduler">Its scheduler spec.</param>
/// <param name="Direction">Maximize or minimize.</param>
/// <param name="MaxTrials">Its trial budget.</param>
/// <param name="Finished">No trial is running or queued and the trial budget is spent.</param>
/// <param name="ByState">Trials per state.</param>
/// <param name="ReachedPhase">How many trials reported each phase (index 0 = phase 1).</param>
/// <param name="Best">The best trial by its score at the last phase, else by any score; null before the first report.</param>
/// <param name="BestPhase">The phase of the best score.</param>
/// <param name="Trials">Every trial.</param>
/// <param name="Workers">Every worker that reported.</param>
/// <param name="TotalCost">Compute in the objective's unit, summed over all reports.</param>
/// <param name="Reports">Reports recorded.</param>
public sealed record StudyStatus(string Name, string Scheduler, Direction Direction, int MaxTrials, bool Finished,
    IReadOnlyDictionary<TrialState, int> ByState, IReadOnlyList<int> ReachedPhase, TrialSummary? Best, int BestPhase,
    IReadOnlyList<TrialSummary> Trials, IReadOnlyList<WorkerSummary> Workers, double TotalCost, int Reports)
{
    /// <summary>Busy seconds over span seconds, all workers together.</summary>
    public double Utilization => Workers.Sum(w => w.SpanSeconds) is var span and > 0 ? Math.Min(1, Workers.Sum(w => w.BusySeconds) / span) : 0;

    internal static StudyStatus From(Study study, IReadOnlyList<TrialRecord> trials, IReadOnlyList<ReportRecord> reports, DateTimeOffset now)
    {
        var def = study.Definition;
        int phases = study.Phases;
        var summaries = trials.Select(t => new TrialSummary(t.Number, t.State, t.LastPhase, t.LastScore, Study.ParseConfig(t.ConfigJson), t.Worker, t.Requeues)).ToList();
        var byState = Enum.GetValues<TrialState>().ToDictionary(s => s, s => trials.Count(t => t.State == s));
        var reached = Enumerable.Range(1, phases).Select(p => reports.Count(r => r.Phase == p)).ToList();
        double Better(double x) => !double.IsFinite(x) ? double.NegativeInfinity : def.Direction == Direction.Maximize ? x : -x;
        // The best: highest phase reached first (a score after more training is what a user deploys), then the score.
        var best = reports.Where(r => double.IsFinite(r.Score)).OrderByDescending(r => r.Phase).ThenByDescending(r => Better(r.Score)).ThenBy(r => r.Trial)
            .FirstOrDefault();
        var workers = reports.GroupBy(r => r.Worker, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var start = g.Min(r => r.Time.AddSeconds(-r.Seconds));
            var end = g.Max(r => r.Time);
            return new WorkerSummary(g.Key, g.Count(), g.Sum(r => r.Seconds), Math.Max(0, (end - start).TotalSeconds));
        }).ToList();
        bool finished = !trials.Any(t => t.State is TrialState.Running or TrialState.Queued)
            && trials.Count >= def.MaxTrials;
        TrialSummary? bestTrial = best is null ? null : summaries.First(t => t.Trial == best.Trial) with { Score = best.Score, Phase = best.Phase };
        return new StudyStatus(def.Name, def.Scheduler, def.Direction, def.MaxTrials, finished, byState, reached, bestTrial, best?.Phase ?? 0,
            summaries, workers, reports.Sum(r => r.Cost), reports.Count);
    }
}
