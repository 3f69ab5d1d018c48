using System.Numerics;
using Condense.Language.DepthPruning;

namespace Condense.Language.Tests.DepthPruning;

public sealed class ShapleyTests
{
    private static readonly double[] Weights = [0.5, -1.25, 2.0, 0.0, 3.5, -0.75];

    private static FunctionGame Additive(double constant = 0.3) =>
        new(Weights.Length, mask => constant + Enumerable.Range(0, Weights.Length)
            .Where(i => (mask & (1UL << i)) != 0).Sum(i => Weights[i]));

    /// <summary>A game with interactions everywhere: a fixed random value per coalition.</summary>
    private static FunctionGame RandomGame(int players, int seed)
    {
        var rng = new Random(seed);
        var table = Enumerable.Range(0, 1 << players).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        return new FunctionGame(players, mask => table[mask]);
    }

    [Fact]
    public void Weights_of_all_coalitions_without_a_player_sum_to_one()
    {
        foreach (var n in new[] { 1, 2, 5, 10, 14 })
        {
            var w = ExactShapley.Weights(n);
            double total = 0, binomial = 1;
            for (int s = 0; s < n; s++)
            {
                total += binomial * w[s];
                binomial = binomial * (n - 1 - s) / (s + 1);
            }
            Assert.Equal(1.0, total, 12);
        }
        // 3 players: 0!2!/3! = 1/3, 1!1!/3! = 1/6, 2!0!/3! = 1/3.
        Assert.Equal([1 / 3.0, 1 / 6.0, 1 / 3.0], ExactShapley.Weights(3), (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Fact]
    public void Exact_values_of_an_additive_game_are_the_weights()
    {
        var phi = ExactShapley.Compute(Additive()).Single();
        for (int i = 0; i < Weights.Length; i++) Assert.Equal(Weights[i], phi.Phi[i], 12);
        Assert.Equal(0.3, phi.Empty, 12);
        Assert.Equal(0.3 + Weights.Sum(), phi.Full, 12);
    }

    [Fact]
    public void Exact_values_of_a_symmetric_game_split_the_total_equally()
    {
        // v(S) = |S|^2: every player gets (n^2 - 0) / n = n.
        const int n = 7;
        var phi = ExactShapley.Compute(new FunctionGame(n, m => Math.Pow(BitOperations.PopCount(m), 2))).Single();
        Assert.All(phi.Phi, p => Assert.Equal(n, p, 10));
    }

    [Fact]
    public void Exact_values_of_a_unanimity_game_go_to_the_carrier()
    {
        // v(S) = 1 when S contains players {1, 3, 4}: each of them gets 1/3, everyone else 0.
        const ulong carrier = 0b11010;
        var phi = ExactShapley.Compute(new FunctionGame(6, m => (m & carrier) == carrier ? 1 : 0)).Single();
        Assert.Equal([0, 1 / 3.0, 0, 1 / 3.0, 1 / 3.0, 0], phi.Phi, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Exact_values_have_the_efficiency_property_on_a_game_with_interactions()
    {
        var game = RandomGame(10, seed: 4);
        var phi = ExactShapley.Compute(game).Single();
        Assert.Equal(0, phi.EfficiencyGap, 10);
        Assert.Equal(1024, game.Evaluations);
        Assert.Throws<ArgumentException>(() => ExactShapley.Compute(new FunctionGame(15, _ => 0)));
    }

    [Fact]
    public void Several_value_functions_are_attributed_from_one_evaluation_per_coalition()
    {
        var game = new FunctionGame(4, ["sum", "size"], m => [Additive().Value(m)[0], BitOperations.PopCount(m)]);
        var results = ExactShapley.Compute(game);
        Assert.Equal(["sum", "size"], results.Select(r => r.ValueName));
        Assert.All(results[1].Phi, p => Assert.Equal(1.0, p, 12));
        Assert.Equal(16, game.Evaluations);
    }

    [Fact]
    public void Permutation_estimate_is_exact_and_certain_on_an_additive_game()
    {
        var phi = PermutationShapley.Estimate(Additive(), permutations: 5, seed: 1).Single();
        for (int i = 0; i < Weights.Length; i++)
        {
            Assert.Equal(Weights[i], phi.Phi[i], 12);
            Assert.Equal(0, phi.StandardError[i], 12);
        }
    }

    [Fact]
    public void Permutation_estimate_is_efficient_and_converges_within_its_standard_errors()
    {
        var game = RandomGame(8, seed: 11);
        var exact = ExactShapley.Compute(game).Single();
        var mc = PermutationShapley.Estimate(game, permutations: 400, seed: 3).Single();
        Assert.Equal(0, mc.EfficiencyGap, 10);
        Assert.True(mc.Evaluations <= 256);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(mc.StandardError[i] > 0);
            Assert.True(Math.Abs(mc.Phi[i] - exact.Phi[i]) < 4 * mc.StandardError[i],
                $"player {i}: {mc.Phi[i]} vs exact {exact.Phi[i]} (se {mc.StandardError[i]})");
        }
        // Fewer permutations: larger standard errors (by about sqrt(400 / 25) = 4).
        var few = PermutationShapley.Estimate(game, permutations: 25, seed: 3).Single();
        Assert.True(few.StandardError.Average() > 2 * mc.StandardError.Average());
    }

    [Fact]
    public void Leave_one_out_contrast_ranks_like_leave_one_out_ablation()
    {
        var game = RandomGame(6, seed: 2);
        var contrast = SubsetContrast.LeaveOneOut(game).Single();
        var loo = Enumerable.Range(0, 6).Select(i => game.Value(game.All & ~(1UL << i))[0]).ToArray();
        // φ_i = mean of the other LOO values − v(N∖i): strictly decreasing in v(N∖i).
        Assert.Equal(-1.0, RankCorrelation.Spearman(contrast.Phi, loo), 12);
        double total = loo.Sum();
        for (int i = 0; i < 6; i++) Assert.Equal((total - loo[i]) / 5 - loo[i], contrast.Phi[i], 12);
    }

    [Fact]
    public void Random_subset_contrast_on_an_additive_game_matches_its_expectation()
    {
        // E[φ_i] = a_i − (A − a_i)/(n − 1) for fixed-size random subsets of an additive game.
        var game = Additive();
        int n = Weights.Length;
        var samples = new FunctionGame(n, ["v"], game.Value, samples: 400, sampleValue: (m, _) => game.Value(m));
        var contrast = SubsetContrast.RandomSubsets(samples, fraction: 0.5, perSample: 10, seed: 5).Single();
        Assert.Equal(4000, contrast.Evaluations);
        double total = Weights.Sum();
        // About 2,000 draws on each side with v's spread ~2.5: standard error ~0.08, so 0.3 is ~4 SE.
        for (int i = 0; i < n; i++)
            Assert.InRange(contrast.Phi[i] - (Weights[i] - (total - Weights[i]) / (n - 1)), -0.3, 0.3);
        Assert.Equal(1.0, RankCorrelation.Spearman(contrast.Phi, Weights), 12);
        Assert.Throws<ArgumentException>(() => SubsetContrast.RandomSubsets(samples, 0.1, 10, 1));
    }

    [Fact]
    public void Spearman_uses_average_ranks_for_ties()
    {
        Assert.Equal([1.5, 1.5, 3, 4], RankCorrelation.Ranks([2, 2, 5, 9]));
        Assert.Equal(1.0, RankCorrelation.Spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman([1, 2, 3], [3, 2, 1]), 12);
        // Ranks (1, 2, 3, 4) vs (1.5, 1.5, 3.5, 3.5): r = 4 / sqrt(5 * 4).
        Assert.Equal(4 / Math.Sqrt(20), RankCorrelation.Spearman([1, 2, 3, 4], [0, 0, 1, 1]), 12);
        Assert.True(double.IsNaN(RankCorrelation.Spearman([1, 1, 1], [1, 2, 3])));
    }
}

/// <summary>Best metric order per count: chosen on the selection split, reported on the evaluation split.</summary>
public sealed class SelectedOrderTests
{
    [Fact]
    public void The_order_is_picked_on_the_selection_split_not_on_the_evaluation_split()
    {
        var curves = new List<Condense.Language.DepthPruning.CurveRow>
        {
            new("cosine", ["a", "b"], [5.0, 6.0, 9.0], [0, 0, 0], [0, 0, 0]) { SelectionPerplexity = [5.1, 7.0, 8.0] },
            new("loo-loss", ["b", "a"], [5.0, 5.5, 9.0], [0, 0, 0], [0, 0, 0]) { SelectionPerplexity = [5.1, 7.5, 8.0] },
        };
        var rows = Condense.Language.DepthPruning.DepthPruningJob.SelectOrders(curves);
        Assert.Equal(2, rows.Count);
        Assert.Equal("cosine", rows[0].Metric);               // 7.0 < 7.5 on selection
        Assert.Equal(6.0, rows[0].EvaluationPerplexity);      // reported on evaluation, not the oracle's 5.5
        Assert.Equal("loo-loss", rows[0].OracleMetric);
        Assert.Equal(5.5, rows[0].OraclePerplexity);
        Assert.Equal("cosine", rows[1].Metric);               // tie on selection: first in curve order
        Assert.Empty(Condense.Language.DepthPruning.DepthPruningJob.SelectOrders(
            [new("cosine", ["a"], [5.0, 6.0], [0, 0], [0, 0])]));   // no selection split
    }
}
