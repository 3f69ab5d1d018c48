// ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020), one bracket, rungs at
// phases grace·η^k below the last phase. Two variants, as users of Ray Tune ask for both:
//  * Stopping (Ray's AsyncHyperBandScheduler): a trial reaching a rung is stopped when its score is below the
//    (1 − 1/η) percentile of the scores recorded earlier at that rung; otherwise it runs on. Never pauses.
//  * Promotion (the paper's Algorithm 2): a trial runs to its rung and pauses; a free worker first promotes the best
//    not-yet-promoted trial in the top ⌊n/η⌋ of the highest rung that has one, and only otherwise starts a new trial.
//    Needs checkpoints (the paused trial resumes where it stopped).
using System.Text.Json;
using Condense.Core;

namespace Condense.Search.Scheduling;

/// <summary>ASHA's options.</summary>
/// <param name="Phases">The last phase (R, the maximum resource).</param>
/// <param name="ReductionFactor">η: keep the top 1/η at each rung.</param>
/// <param name="GracePhases">The first rung (r, the minimum resource).</param>
/// <param name="Promotion">The paper's promotion variant (pause at rungs) instead of Ray's stopping variant.</param>
public sealed record AshaOptions(int Phases, double ReductionFactor = 3, int GracePhases = 1, bool Promotion = false)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Phases < 1) throw new InputException($"asha: Phases = {Phases}: need at least 1");
        if (!(ReductionFactor > 1)) throw new InputException($"asha: ReductionFactor = {ReductionFactor}: need > 1");
        if (GracePhases < 1 || GracePhases > Phases) throw new InputException($"asha: GracePhases = {GracePhases}: need 1..{Phases}");
    }

    /// <summary>The rung milestones (phases), ascending, each below <see cref="Phases"/>, then <see cref="Phases"/> itself.</summary>
    public IReadOnlyList<int> Milestones()
    {
        var list = new List<int>();
        for (double m = GracePhases; m < Phases; m *= ReductionFactor)
        {
            int phase = (int)Math.Round(m);
            if (list.Count == 0 || phase > list[^1]) list.Add(phase);
        }
        list.Add(Phases);
        return list;
    }
}

/// <summary>Asynchronous successive halving (see the file header).</summary>
public sealed class AshaScheduler : ITrialScheduler
{
    private sealed class State
    {
        // Rung k: trial → score recorded at milestone k (the last entry is the final phase).
        public List<Dictionary<long, double>> Rungs { get; set; } = [];
        public List<HashSet<long>> Promoted { get; set; } = [];
        // Promotion variant: the rung each running trial is headed for.
        public Dictionary<long, int> Target { get; set; } = [];
    }

    private readonly IReadOnlyList<int> _milestones;
    private State _state;

    /// <summary>A scheduler with <paramref name="options"/>.</summary>
    public AshaScheduler(AshaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _milestones = options.Milestones();
        _state = Empty();
    }

    /// <summary>The options in force.</summary>
    public AshaOptions Options { get; }

    /// <inheritdoc/>
    public string Name => Options.Promotion ? "asha-promotion" : "asha";

    /// <inheritdoc/>
    public int Phases => Options.Phases;

    /// <summary>The rung milestones (phases).</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    private State Empty() => new()
    {
        Rungs = [.. _milestones.Select(_ => new Dictionary<long, double>())],
        Promoted = [.. _milestones.Select(_ => new HashSet<long>())],
    };

    /// <inheritdoc/>
    public Work Next(bool mayStartNew)
    {
        if (Options.Promotion)
        {
            // From the highest rung below the last down: promote the best unpromoted trial in the top ⌊n/η⌋.
            for (int k = _milestones.Count - 2; k >= 0; k--)
            {
                var rung = _state.Rungs[k];
                int keep = (int)Math.Floor(rung.Count / Options.ReductionFactor);
                var candidate = rung.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(keep)
                    .Select(kv => (long?)kv.Key).FirstOrDefault(t => !_state.Promoted[k].Contains(t!.Value));
                if (candidate is { } trial)
                {
                    _state.Promoted[k].Add(trial);
                    _state.Target[trial] = k + 1;
                    return new Work.Resume(trial, _milestones[k] + 1);
                }
            }
        }
        return mayStartNew ? Work.New : Work.Nothing;
    }

    /// <inheritdoc/>
    public void Started(long trial)
    {
        if (Options.Promotion) _state.Target[trial] = 0;
    }

    /// <inheritdoc/>
    public Decision Report(long trial, int phase, double score)
    {
        int k = IndexOf(phase);
        if (Options.Promotion)
        {
            int target = _state.Target.TryGetValue(trial, out var t) ? t : 0;
            if (k < 0 || k != target) return Decision.Continue;
            _state.Rungs[k][trial] = score;
            _state.Target.Remove(trial);
            return k == _milestones.Count - 1 ? Decision.Complete : Decision.Pause;
        }
        if (k < 0) return Decision.Continue;
        var recorded = _state.Rungs[k];
        if (k == _milestones.Count - 1)
        {
            recorded[trial] = score;
            return Decision.Complete;
        }
        // Ray's cutoff: the (1 − 1/η) percentile of the scores recorded before this one.
        bool stop = recorded.Count > 0 && score < Percentile.Of(recorded.Values, (1 - 1 / Options.ReductionFactor) * 100);
        recorded[trial] = score;
        return stop ? Decision.Stop : Decision.Continue;
    }

    private int IndexOf(int phase)
    {
        for (int i = 0; i < _milestones.Count; i++) if (_milestones[i] == phase) return i;
        return -1;
    }

    /// <summary>Scores recorded at rung <paramref name="k"/>.</summary>
    public int RecordedAt(int k) => _state.Rungs[k].Count;

    /// <inheritdoc/>
    public void Abandon(long trial) => _state.Target.Remove(trial);

    /// <inheritdoc/>
    public string SaveState() => JsonSerializer.Serialize(_state);

    /// <inheritdoc/>
    public void LoadState(string json) => _state = JsonSerializer.Deserialize<State>(json) ?? Empty();
}
