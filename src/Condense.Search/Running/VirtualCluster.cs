// W workers on a virtual clock, for studies that compare schedulers: every phase really runs (real training), one
// at a time on this thread, but it occupies its virtual worker for exactly its cost (environment steps, or any
// deterministic unit), and events are processed in virtual-time order. The results (best score against compute,
// utilization, who was stopped when) are therefore identical on every machine and under any load, which a
// comparison of methods needs; a real cluster adds only timing noise to the same protocol (LocalRunner).
using Condense.Search.Studies;

namespace Condense.Search.Running;

/// <summary>A settable clock for <see cref="VirtualCluster"/>.</summary>
public sealed class VirtualClock : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Virtual seconds since the start.</summary>
    public double Now { get; set; }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => Epoch.AddSeconds(Now);
}

/// <summary>One point of the best-so-far curve.</summary>
/// <param name="Time">Virtual time (cost units) of the report.</param>
/// <param name="Compute">Compute spent by all workers up to then.</param>
/// <param name="Best">The best final-phase score so far (NaN before the first trial completes).</param>
public sealed record BestPoint(double Time, double Compute, double Best);

/// <summary>What a virtual run did.</summary>
/// <param name="Makespan">Virtual time until the last worker finished.</param>
/// <param name="Compute">Sum of phase costs.</param>
/// <param name="Utilization">Compute over workers × makespan.</param>
/// <param name="Curve">Best completed score against compute, one point per completion that improved it.</param>
public sealed record VirtualRunSummary(double Makespan, double Compute, double Utilization, IReadOnlyList<BestPoint> Curve);

/// <summary>Runs a study on virtual workers (see the file header).</summary>
public static class VirtualCluster
{
    /// <summary>
    /// Runs <paramref name="study"/> (opened with <paramref name="clock"/>) on <paramref name="workers"/> virtual workers
    /// until the study is over or <paramref name="maxCompute"/> is spent: then no phase starts any more (the phases in
    /// flight finish and are reported; their trials stay unfinished), so methods compared at one budget spend it alike.
    /// </summary>
    public static VirtualRunSummary Run(Study study, VirtualClock clock, IPhasedObjective objective, int workers, string checkpointRoot,
        double maxCompute = double.PositiveInfinity, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(objective);
        if (workers < 1) throw new Condense.Core.InputException($"Workers = {workers}: need at least 1");
        var lease = TimeSpan.FromDays(3650); // virtual workers never die
        var running = new (TrialContext Context, int Phase, PhaseResult Result)?[workers];
        // Events: (time, sequence) → worker; Start = the worker is free at that time, Complete = its phase ends then.
        var events = new PriorityQueue<(int Worker, bool Complete), (double Time, long Seq)>();
        long seq = 0;
        for (int w = 0; w < workers; w++) events.Enqueue((w, false), (0, seq++));
        double compute = 0, makespan = 0;
        bool minimize = study.Definition.Direction == Direction.Minimize;
        double best = double.NaN;
        var curve = new List<BestPoint>();

        void StartPhase(int w, TrialContext context, int phase, double now)
        {
            var result = objective.RunPhase(context, phase, cancellation);
            double cost = Math.Max(result.Cost, 1e-9);
            running[w] = (context, phase, result);
            events.Enqueue((w, true), (now + cost, seq++));
        }

        while (events.TryDequeue(out var e, out var key))
        {
            cancellation.ThrowIfCancellationRequested();
            clock.Now = key.Time;
            makespan = Math.Max(makespan, key.Time);
            string worker = $"virtual/{e.Worker}";
            if (e.Complete)
            {
                var (context, phase, result) = running[e.Worker]!.Value;
                running[e.Worker] = null;
                compute += result.Cost;
                var outcome = study.Report(worker, context.Number, phase, result.Score, result.Cost, result.Cost, lease);
                if (outcome.Decision == Scheduling.Decision.Complete && double.IsFinite(result.Score)
                    && (double.IsNaN(best) || (minimize ? result.Score < best : result.Score > best)))
                {
                    best = result.Score;
                    curve.Add(new BestPoint(key.Time, compute, best));
                }
                if (outcome.KeepGoing)
                {
                    if (compute < maxCompute) StartPhase(e.Worker, context, phase + 1, key.Time);
                    // else: the budget is spent; this worker retires with its trial unfinished
                }
                else
                {
                    if (outcome.Decision != Scheduling.Decision.Pause) objective.Release(context.Number);
                    events.Enqueue((e.Worker, false), (key.Time, seq++));
                }
                continue;
            }
            if (compute >= maxCompute) continue; // the budget is spent: this worker retires
            var a = study.Lease(worker, lease);
            if (a.Kind == AssignmentKind.Finished) continue; // this worker retires
            if (a.Kind == AssignmentKind.Wait)
            {
                // Idle until the next phase ends somewhere (only then can the answer change).
                var next = events.UnorderedItems.Where(x => x.Element.Complete).Select(x => x.Priority.Time).DefaultIfEmpty(double.NaN).Min();
                if (double.IsNaN(next)) continue;
                events.Enqueue((e.Worker, false), (next, seq++));
                continue;
            }
            var ctx = new TrialContext(a.Trial, a.Config!, a.Seed, a.Phases, Path.Combine(checkpointRoot, $"trial-{a.Trial:D5}"));
            StartPhase(e.Worker, ctx, a.StartPhase, key.Time);
        }
        return new VirtualRunSummary(makespan, compute, makespan > 0 ? compute / (workers * makespan) : 0, curve);
    }
}
