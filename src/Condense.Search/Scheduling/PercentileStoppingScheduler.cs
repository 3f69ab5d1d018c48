// Median / percentile stopping (Golovin et al., Vizier, KDD 2017; Optuna's MedianPruner and PercentilePruner): after
// a grace period, a trial is stopped at phase φ when its best score so far is below the p-th percentile of the scores
// other trials reported at φ, once at least MinTrials others have reported there. p = 50 is the median rule.
// Deviation from Optuna: the other trials are all that reported at φ (running, stopped or complete), as in Ray's
// MedianStoppingRule, not only completed ones: with asynchronous workers few trials complete early on.
using System.Text.Json;
using Condense.Core;

namespace Condense.Search.Scheduling;

/// <summary>Options of the percentile (median) stopping rule.</summary>
/// <param name="Phases">Phases of a trial that runs to the end.</param>
/// <param name="Percentile">p in (0, 100): stop below this percentile of the others (50 = median).</param>
/// <param name="GracePhases">Phases before any stopping.</param>
/// <param name="MinTrials">Other trials that must have reported at a phase before stopping there.</param>
public sealed record PercentileStoppingOptions(int Phases, double Percentile = 50, int GracePhases = 1, int MinTrials = 3)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Phases < 1) throw new InputException($"median: Phases = {Phases}: need at least 1");
        if (!(Percentile > 0 && Percentile < 100)) throw new InputException($"median: Percentile = {Percentile}: need 0 < p < 100");
        if (GracePhases < 0) throw new InputException($"median: GracePhases = {GracePhases}: need >= 0");
        if (MinTrials < 1) throw new InputException($"median: MinTrials = {MinTrials}: need >= 1");
    }
}

/// <summary>The percentile stopping rule (see the file header).</summary>
public sealed class PercentileStoppingScheduler : ITrialScheduler
{
    private sealed class State
    {
        public Dictionary<int, Dictionary<long, double>> Scores { get; set; } = [];
        public Dictionary<long, double> Best { get; set; } = [];
    }

    private State _state = new();

    /// <summary>A scheduler with <paramref name="options"/>.</summary>
    public PercentileStoppingScheduler(PercentileStoppingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The options in force.</summary>
    public PercentileStoppingOptions Options { get; }

    /// <inheritdoc/>
    public string Name => Options.Percentile == 50 ? "median" : "percentile";

    /// <inheritdoc/>
    public int Phases => Options.Phases;

    /// <inheritdoc/>
    public Work Next(bool mayStartNew) => mayStartNew ? Work.New : Work.Nothing;

    /// <inheritdoc/>
    public void Started(long trial) { }

    /// <inheritdoc/>
    public Decision Report(long trial, int phase, double score)
    {
        var best = _state.Best.TryGetValue(trial, out var b) ? Math.Max(b, score) : score;
        _state.Best[trial] = best;
        if (!_state.Scores.TryGetValue(phase, out var atPhase)) _state.Scores[phase] = atPhase = [];
        var others = atPhase.Where(kv => kv.Key != trial).Select(kv => kv.Value).ToList();
        atPhase[trial] = score;
        if (phase >= Phases) return Decision.Complete;
        if (phase <= Options.GracePhases || others.Count < Options.MinTrials) return Decision.Continue;
        return best < Scheduling.Percentile.Of(others, Options.Percentile) ? Decision.Stop : Decision.Continue;
    }

    /// <inheritdoc/>
    public void Abandon(long trial) { }

    /// <inheritdoc/>
    public string SaveState() => JsonSerializer.Serialize(_state);

    /// <inheritdoc/>
    public void LoadState(string json) => _state = JsonSerializer.Deserialize<State>(json) ?? new State();
}
