using Condense.Search.Running;

namespace Condense.Search.Tests;

/// <summary>
/// Simulated learning curves: trial quality q = 1 − (x − 0.7)², score after phase p = q·(1 − e^(−p/3)) + noise
/// (deterministic from the trial seed and phase), cost 1 per phase. Good configurations are good early too, as in
/// most training curves, which is what early stopping bets on.
/// </summary>
internal sealed class SyntheticCurves(double noise = 0.02) : IPhasedObjective
{
    public string Name => "synthetic";

    public int PhasesRun;

    public PhaseResult RunPhase(TrialContext trial, int phase, CancellationToken cancellation)
    {
        Interlocked.Increment(ref PhasesRun);
        double x = trial.Config["x"].AsDouble;
        double q = 1 - (x - 0.7) * (x - 0.7);
        var rng = new Condense.Core.Data.SplitMix64(trial.Seed ^ (ulong)phase * 0x9E3779B97F4A7C15UL);
        double eps = (rng.NextDouble() - 0.5) * 2 * noise;
        return new PhaseResult(q * (1 - Math.Exp(-phase / 3.0)) + eps, 1);
    }

    public void Release(long trial) { }
}
