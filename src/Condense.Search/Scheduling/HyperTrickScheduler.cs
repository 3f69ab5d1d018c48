// HyperTrick (Heinrich & Frosio, arXiv 1902.02725): every experiment trains in Nφ equal phases; at the end of phase φ
// it continues only if its score is within the top fraction r of all scores reported at φ so far; a stopped
// experiment frees its worker, which starts a new configuration at once. No barrier, no pausing, fixed
// hyperparameters per experiment, no weight copying.
//
// Deviations (a reconstruction): the paper's text past the introduction and its code are not public, so the exact
// rank formula, the treatment of the first reports at a phase, and whether the score is the last or the best so far
// are not known. Here they are options, with these defaults: the current score is counted among the scores at φ; a
// score s continues when fewer than r·n of the n scores at φ are strictly better (ties continue); while fewer than
// WarmupReports scores exist at φ (default ⌈1/r⌉) every experiment continues; the score is the phase's own (Last).
using System.Text.Json;
using Condense.Core;

namespace Condense.Search.Scheduling;

/// <summary>Which score of a trial the survival test ranks.</summary>
public enum ScoreKind
{
    /// <summary>The score reported at this phase.</summary>
    Last,
    /// <summary>The best score the trial reported up to this phase.</summary>
    Best,
}

/// <summary>HyperTrick's options.</summary>
/// <param name="Phases">Nφ, phases of an experiment that runs to the end.</param>
/// <param name="SurvivalRate">r in (0, 1]: the fraction allowed past each phase (1 = random search).</param>
/// <param name="WarmupReports">Scores needed at a phase before anything is stopped there; null = ⌈1/r⌉.</param>
/// <param name="IncludeCurrent">Count the reporting trial's own score among the scores it is ranked against.</param>
/// <param name="Score">Rank the phase's own score or the best so far.</param>
public sealed record HyperTrickOptions(int Phases, double SurvivalRate = 0.5, int? WarmupReports = null, bool IncludeCurrent = true,
    ScoreKind Score = ScoreKind.Last)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Phases < 1) throw new InputException($"hypertrick: Phases = {Phases}: need at least 1");
        if (!(SurvivalRate > 0 && SurvivalRate <= 1)) throw new InputException($"hypertrick: SurvivalRate = {SurvivalRate}: need 0 < r <= 1");
        if (WarmupReports is < 1) throw new InputException($"hypertrick: WarmupReports = {WarmupReports}: need at least 1");
    }

    /// <summary>The warm-up count in force.</summary>
    public int Warmup => WarmupReports ?? (int)Math.Ceiling(1 / SurvivalRate - 1e-9);
}

/// <summary>The HyperTrick rule (see the file header for what is reconstructed).</summary>
public sealed class HyperTrickScheduler : ITrialScheduler
{
    private sealed class State
    {
        public Dictionary<int, List<double>> Scores { get; set; } = [];
        public Dictionary<long, double> Best { get; set; } = [];
    }

    private State _state = new();

    /// <summary>A scheduler with <paramref name="options"/>.</summary>
    public HyperTrickScheduler(HyperTrickOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The options in force.</summary>
    public HyperTrickOptions Options { get; }

    /// <inheritdoc/>
    public string Name => "hypertrick";

    /// <inheritdoc/>
    public int Phases => Options.Phases;

    /// <inheritdoc/>
    public Work Next(bool mayStartNew) => mayStartNew ? Work.New : Work.Nothing;

    /// <inheritdoc/>
    public void Started(long trial) { }

    /// <inheritdoc/>
    public Decision Report(long trial, int phase, double score)
    {
        var ranked = score;
        if (Options.Score == ScoreKind.Best)
        {
            ranked = _state.Best.TryGetValue(trial, out var b) ? Math.Max(b, score) : score;
            _state.Best[trial] = ranked;
        }
        if (!_state.Scores.TryGetValue(phase, out var list)) _state.Scores[phase] = list = [];
        var others = list.Count;
        int better = list.Count(s => s > ranked);
        list.Add(ranked);
        if (phase >= Options.Phases) return Decision.Complete;
        int n = Options.IncludeCurrent ? others + 1 : others;
        if (list.Count < Options.Warmup || n == 0) return Decision.Continue;
        return better < Options.SurvivalRate * n ? Decision.Continue : Decision.Stop;
    }

    /// <summary>Scores reported at <paramref name="phase"/> so far.</summary>
    public int ReportsAt(int phase) => _state.Scores.TryGetValue(phase, out var l) ? l.Count : 0;

    /// <inheritdoc/>
    public void Abandon(long trial) { }

    /// <inheritdoc/>
    public string SaveState() => JsonSerializer.Serialize(_state);

    /// <inheritdoc/>
    public void LoadState(string json) => _state = JsonSerializer.Deserialize<State>(json) ?? new State();
}
