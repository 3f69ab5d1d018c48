namespace Condense.Language.DepthPruning;

/// <summary>
/// Per-player attributions of one value function: <see cref="Phi"/>[i] is player i's share, with a standard
/// error where the estimator is stochastic (zeros for exact values). <see cref="Full"/> = v(all players),
/// <see cref="Empty"/> = v(no player). Evaluations counts value-function calls (coalitions or samples).
/// </summary>
public sealed record ShapleyEstimate(
    string Estimator,
    string ValueName,
    double[] Phi,
    double[] StandardError,
    double Full,
    double Empty,
    long Evaluations)
{
    /// <summary>Σ φ_i − (v(all) − v(none)): zero for estimators with the efficiency property.</summary>
    public double EfficiencyGap => Phi.Sum() - (Full - Empty);
}
