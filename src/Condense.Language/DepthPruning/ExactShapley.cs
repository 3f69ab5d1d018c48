// Exact Shapley values by enumerating every coalition (Shapley 1953):
//   φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · [v(S ∪ {i}) − v(S)].
// 2^n evaluations, so only for small n (a 5-block model has 10 sub-layers = 1024 coalitions).
namespace Condense.Language.DepthPruning;

/// <summary>Exact Shapley values by enumerating all 2^n coalitions.</summary>
public static class ExactShapley
{
    /// <summary>Largest number of players enumerated (16,384 coalitions).</summary>
    public const int MaxPlayers = 14;

    /// <summary>Exact Shapley values of every value function of <paramref name="game"/>.</summary>
    public static IReadOnlyList<ShapleyEstimate> Compute(CoalitionGame game)
    {
        ArgumentNullException.ThrowIfNull(game);
        if (game.Players > MaxPlayers)
            throw new ArgumentException(
                $"exact Shapley enumerates 2^n coalitions; {game.Players} players is more than {MaxPlayers}", nameof(game));
        return FromTable(game.Players, game.ValueNames, game.AllValues());
    }

    /// <summary>Exact Shapley values from the values of all 2^n coalitions (table[mask][valueIndex]).</summary>
    public static IReadOnlyList<ShapleyEstimate> FromTable(int players, IReadOnlyList<string> valueNames,
        double[][] table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Length != 1 << players)
            throw new ArgumentException($"{players} players need {1 << players} coalition values, got {table.Length}",
                nameof(table));
        var weights = Weights(players);
        int full = (1 << players) - 1;
        var results = new List<ShapleyEstimate>(valueNames.Count);
        for (int g = 0; g < valueNames.Count; g++)
        {
            var phi = new double[players];
            for (int i = 0; i < players; i++)
            {
                int bit = 1 << i;
                double sum = 0;
                for (int mask = 0; mask <= full; mask++)
                {
                    if ((mask & bit) != 0) continue;
                    sum += weights[System.Numerics.BitOperations.PopCount((uint)mask)]
                        * (table[mask | bit][g] - table[mask][g]);
                }
                phi[i] = sum;
            }
            results.Add(new ShapleyEstimate("exact_shapley", valueNames[g], phi, new double[players],
                table[full][g], table[0][g], table.Length));
        }
        return results;
    }

    /// <summary>w(s) = s! (n − s − 1)! / n! for s = 0..n−1, computed as 1 / (n · C(n−1, s)).</summary>
    public static double[] Weights(int n)
    {
        var w = new double[n];
        double binomial = 1; // C(n−1, s)
        for (int s = 0; s < n; s++)
        {
            w[s] = 1.0 / (n * binomial);
            binomial = binomial * (n - 1 - s) / (s + 1);
        }
        return w;
    }
}
