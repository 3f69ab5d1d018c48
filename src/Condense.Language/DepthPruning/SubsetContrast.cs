// The estimator of the depth-pruning paper's released code (shoaibahmed/llm_depth_pruning), which it calls
// "Shapley": for every calibration sample evaluate K sub-networks S, then
//   φ_i = mean{ v(S) : i ∈ S } − mean{ v(S) : i ∉ S }.
// Two ways to pick the sub-networks, as there:
//  * leave-one-out (the block/layer scripts' default): K = n, S = N ∖ {j}; the ranking then equals LOO ablation;
//  * random subsets of a fixed size (fraction of n, rounded down; 0.5 in the layer script, 0.9 in the MMLU
//    script), K per sample, drawn afresh for each sample.
// It is a semivalue-like contrast (closer to Banzhaf than Shapley) and has no efficiency property.
namespace Condense.Language.DepthPruning;

/// <summary>The reference code's subset-contrast importance estimator (leave-one-out or random subsets).</summary>
public static class SubsetContrast
{
    /// <summary>The leave-one-out contrast: K = n sub-networks, each missing one player, on every sample.</summary>
    public static IReadOnlyList<ShapleyEstimate> LeaveOneOut(CoalitionGame game)
    {
        ArgumentNullException.ThrowIfNull(game);
        int n = game.Players;
        if (n < 2) throw new ArgumentException("the leave-one-out contrast needs at least 2 players", nameof(game));
        var subsets = Enumerable.Range(0, n).Select(j => game.All & ~(1UL << j)).ToArray();
        return Contrast(game, "loo_contrast", _ => subsets);
    }

    /// <summary>
    /// Random fixed-size sub-networks: <paramref name="perSample"/> subsets of ⌊fraction · n⌋ players per sample.
    /// </summary>
    public static IReadOnlyList<ShapleyEstimate> RandomSubsets(CoalitionGame game, double fraction, int perSample,
        int seed)
    {
        ArgumentNullException.ThrowIfNull(game);
        int n = game.Players;
        int size = (int)Math.Floor(fraction * n);
        if (size < 1 || size >= n)
            throw new ArgumentException($"subset fraction {fraction} of {n} players keeps {size}; need 1..{n - 1}",
                nameof(fraction));
        ArgumentOutOfRangeException.ThrowIfLessThan(perSample, 1);
        var rng = new Random(seed);
        var players = Enumerable.Range(0, n).ToArray();
        return Contrast(game, $"random_subset_contrast_{fraction:0.##}", _ =>
        {
            var subsets = new ulong[perSample];
            for (int s = 0; s < perSample; s++)
            {
                rng.Shuffle(players);
                ulong mask = 0;
                for (int j = 0; j < size; j++) mask |= 1UL << players[j];
                subsets[s] = mask;
            }
            return subsets;
        });
    }

    private static List<ShapleyEstimate> Contrast(CoalitionGame game, string name, Func<int, ulong[]> subsetsFor)
    {
        int n = game.Players, k = game.ValueNames.Count;
        var presentSum = new double[k, n];
        var absentSum = new double[k, n];
        var presentCount = new long[k, n];
        var absentCount = new long[k, n];
        long evaluations = 0;
        for (int sample = 0; sample < game.Samples; sample++)
        {
            foreach (var mask in subsetsFor(sample))
            {
                var v = game.Samples == 1 ? game.Value(mask) : game.Value(mask, sample);
                evaluations++;
                for (int i = 0; i < n; i++)
                {
                    bool present = (mask & (1UL << i)) != 0;
                    for (int g = 0; g < k; g++)
                    {
                        // A sample without tokens of a kind (no dialogue in a window) has no value: skip it.
                        if (!double.IsFinite(v[g])) continue;
                        if (present) { presentSum[g, i] += v[g]; presentCount[g, i]++; }
                        else { absentSum[g, i] += v[g]; absentCount[g, i]++; }
                    }
                }
            }
        }
        var full = game.Value(game.All);
        var empty = game.Value(0);
        var results = new List<ShapleyEstimate>(k);
        for (int g = 0; g < k; g++)
        {
            var phi = new double[n];
            for (int i = 0; i < n; i++)
            {
                // A player never seen absent (or present) has no contrast: NaN says so instead of a made-up 0.
                phi[i] = presentCount[g, i] == 0 || absentCount[g, i] == 0
                    ? double.NaN
                    : presentSum[g, i] / presentCount[g, i] - absentSum[g, i] / absentCount[g, i];
            }
            results.Add(new ShapleyEstimate(name, game.ValueNames[g], phi, new double[n], full[g], empty[g],
                evaluations));
        }
        return results;
    }
}
