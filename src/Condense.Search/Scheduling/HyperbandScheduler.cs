// Hyperband (Li et al., JMLR 2018) with synchronous successive halving inside each bracket, as Ray's
// HyperBandScheduler: brackets s = s_max..0 with s_max = ⌊log_η(R / r_min)⌋; bracket s starts
// n = ⌈(s_max + 1)/(s + 1) · η^s⌉ trials at r = R·η^(−s) phases; after each round the top ⌊n_i/η⌋ are resumed
// for η times more phases. A round's survivors are chosen only when every trial of the round has reported: this
// barrier is where workers idle, which is what HyperTrick and ASHA avoid. Brackets repeat while budget remains.
using System.Text.Json;
using Condense.Core;

namespace Condense.Search.Scheduling;

/// <summary>Hyperband's options.</summary>
/// <param name="Phases">R, the phases of a trial that runs to the end.</param>
/// <param name="ReductionFactor">η.</param>
/// <param name="MinPhases">The smallest budget a bracket starts trials with.</param>
public sealed record HyperbandOptions(int Phases, double ReductionFactor = 3, int MinPhases = 1)
{
    /// <summary>Throws an <see cref="InputException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Phases < 1) throw new InputException($"hyperband: Phases = {Phases}: need at least 1");
        if (!(ReductionFactor > 1)) throw new InputException($"hyperband: ReductionFactor = {ReductionFactor}: need > 1");
        if (MinPhases < 1 || MinPhases > Phases) throw new InputException($"hyperband: MinPhases = {MinPhases}: need 1..{Phases}");
    }

    /// <summary>s_max.</summary>
    public int MaxBracket => (int)Math.Floor(Math.Log(Phases / (double)MinPhases) / Math.Log(ReductionFactor) + 1e-9);

    /// <summary>The rounds of bracket <paramref name="s"/>: (trials, phases to reach) per round.</summary>
    public IReadOnlyList<(int Trials, int Phases)> Rounds(int s)
    {
        int n = (int)Math.Ceiling((MaxBracket + 1) / (double)(s + 1) * Math.Pow(ReductionFactor, s) - 1e-9);
        var rounds = new List<(int, int)>();
        for (int i = 0; i <= s; i++)
        {
            int trials = (int)Math.Floor(n * Math.Pow(ReductionFactor, -i) + 1e-9);
            int phases = (int)Math.Round(Phases * Math.Pow(ReductionFactor, i - s));
            phases = Math.Clamp(phases, 1, Phases);
            if (trials < 1) break;
            if (rounds.Count > 0 && phases <= rounds[^1].Item2) continue;
            rounds.Add((trials, phases));
        }
        return rounds;
    }
}

/// <summary>Hyperband with synchronous successive halving (see the file header).</summary>
public sealed class HyperbandScheduler : ITrialScheduler
{
    private sealed class State
    {
        public int Bracket { get; set; }              // index into the s_max..0 cycle, grows without bound
        public int Round { get; set; }
        public int ToStart { get; set; } = -1;        // new trials still to start in round 0; -1: bracket not begun
        public List<long> Members { get; set; } = []; // trials of the current round
        public Dictionary<long, double> Results { get; set; } = [];
        public List<long> ToResume { get; set; } = [];
    }

    private State _state = new();

    /// <summary>A scheduler with <paramref name="options"/>.</summary>
    public HyperbandScheduler(HyperbandOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
    }

    /// <summary>The options in force.</summary>
    public HyperbandOptions Options { get; }

    /// <inheritdoc/>
    public string Name => "hyperband";

    /// <inheritdoc/>
    public int Phases => Options.Phases;

    private int S => Options.MaxBracket - _state.Bracket % (Options.MaxBracket + 1);

    private IReadOnlyList<(int Trials, int Phases)> Rounds => Options.Rounds(S);

    /// <inheritdoc/>
    public Work Next(bool mayStartNew)
    {
        if (_state.ToStart < 0)
        {
            if (!mayStartNew) return Work.Nothing;
            _state.Round = 0;
            _state.ToStart = Rounds[0].Trials;
            _state.Members = [];
            _state.Results = [];
            _state.ToResume = [];
        }
        if (_state.ToResume.Count > 0)
        {
            var trial = _state.ToResume[0];
            _state.ToResume.RemoveAt(0);
            return new Work.Resume(trial, Rounds[_state.Round - 1].Phases + 1);
        }
        if (_state.Round == 0 && _state.ToStart > 0 && mayStartNew) return Work.New;
        return Work.Nothing; // the barrier: wait for the round's last report
    }

    /// <inheritdoc/>
    public void Started(long trial)
    {
        _state.ToStart--;
        _state.Members.Add(trial);
    }

    /// <inheritdoc/>
    public Decision Report(long trial, int phase, double score)
    {
        var rounds = Rounds;
        if (!_state.Members.Contains(trial) || phase < rounds[_state.Round].Phases) return Decision.Continue;
        _state.Results[trial] = score;
        bool last = _state.Round == rounds.Count - 1;
        bool roundStarted = _state.Round > 0 || _state.ToStart == 0;
        if (roundStarted && _state.Results.Count == _state.Members.Count) Advance(rounds);
        return phase >= Phases ? Decision.Complete : last ? Decision.Stop : Decision.Pause;
    }

    /// <inheritdoc/>
    public void Abandon(long trial)
    {
        if (!_state.Members.Remove(trial)) return;
        _state.Results.Remove(trial);
        _state.ToResume.Remove(trial);
        bool roundStarted = _state.Round > 0 || _state.ToStart == 0;
        if (roundStarted && _state.ToResume.Count == 0 && _state.Results.Count == _state.Members.Count) Advance(Rounds);
    }

    // Every member reported: keep the top n_{i+1} for the next round, or begin the next bracket.
    private void Advance(IReadOnlyList<(int Trials, int Phases)> rounds)
    {
        var keep = _state.Round == rounds.Count - 1 ? [] : _state.Results.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
            .Take(rounds[_state.Round + 1].Trials).Select(kv => kv.Key).ToList();
        if (keep.Count == 0)
        {
            _state.Bracket++;
            _state.ToStart = -1;
            return;
        }
        _state.Round++;
        _state.Members = keep;
        _state.Results = [];
        _state.ToResume = [.. keep];
    }

    /// <summary>The bracket in progress (s). Trials the budget leaves unresumed stay paused.</summary>
    public int CurrentBracket => S;

    /// <inheritdoc/>
    public string SaveState() => JsonSerializer.Serialize(_state);

    /// <inheritdoc/>
    public void LoadState(string json) => _state = JsonSerializer.Deserialize<State>(json) ?? new State();
}
