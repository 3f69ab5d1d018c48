// Monte-Carlo permutation Shapley (Castro, Gómez & Tejada 2009): for T random orders π,
//   φ̂_i = (1/T) Σ_π [v(Pre_π(i) ∪ {i}) − v(Pre_π(i))],
// n + 1 evaluations per order. Each order's marginals telescope to v(all) − v(none), so the estimate keeps the
// efficiency property exactly; the standard error is the sample standard deviation of a player's marginals / √T.
// Coalition values are memoised, so repeated coalitions (always ∅ and N, often small prefixes) cost nothing.
namespace Condense.Language.DepthPruning;

/// <summary>Monte-Carlo permutation estimate of Shapley values.</summary>
public static class PermutationShapley
{
    /// <summary>Estimates the Shapley values of every value function from <paramref name="permutations"/> orders.</summary>
    public static IReadOnlyList<ShapleyEstimate> Estimate(CoalitionGame game, int permutations, int seed)
    {
        ArgumentNullException.ThrowIfNull(game);
        ArgumentOutOfRangeException.ThrowIfLessThan(permutations, 2);
        int n = game.Players, k = game.ValueNames.Count;
        var cache = new Dictionary<ulong, double[]>();
        double[] V(ulong mask)
        {
            if (!cache.TryGetValue(mask, out var v)) cache[mask] = v = game.Value(mask);
            return v;
        }

        var rng = new Random(seed);
        var sum = new double[k, n];
        var sumSq = new double[k, n];
        var order = Enumerable.Range(0, n).ToArray();
        for (int t = 0; t < permutations; t++)
        {
            rng.Shuffle(order);
            ulong mask = 0;
            var previous = V(mask);
            foreach (var i in order)
            {
                mask |= 1UL << i;
                var current = V(mask);
                for (int g = 0; g < k; g++)
                {
                    double marginal = current[g] - previous[g];
                    sum[g, i] += marginal;
                    sumSq[g, i] += marginal * marginal;
                }
                previous = current;
            }
        }

        var full = V(game.All);
        var empty = V(0);
        var results = new List<ShapleyEstimate>(k);
        for (int g = 0; g < k; g++)
        {
            var phi = new double[n];
            var se = new double[n];
            for (int i = 0; i < n; i++)
            {
                phi[i] = sum[g, i] / permutations;
                double variance = Math.Max(0, (sumSq[g, i] - permutations * phi[i] * phi[i]) / (permutations - 1));
                se[i] = Math.Sqrt(variance / permutations);
            }
            results.Add(new ShapleyEstimate($"permutation_shapley_{permutations}", game.ValueNames[g], phi, se,
                full[g], empty[g], cache.Count));
        }
        return results;
    }
}
