// Pruning orders (Siddiqui et al. §2.3, reference code): one-shot = sort the units once by a metric, ascending,
// and remove them cumulatively in that order; iterative = re-measure the metric on the pruned network after every
// removal (the reference code does this only in its MMLU-Shapley script). Candidates can be restricted to
// attention or MLP sub-layers (its pruning scheme mhsa|mlp|both).
using Condense.Core;

namespace Condense.Language.DepthPruning;

/// <summary>Which units may be removed.</summary>
public enum PruneScope
{
    /// <summary>Every unit of the network (blocks, or both kinds of sub-layers).</summary>
    All,

    /// <summary>Attention sub-layers only.</summary>
    Attention,

    /// <summary>MLP sub-layers only.</summary>
    Mlp,
}

/// <summary>One point of a pruning curve: scores after removing the first <see cref="Removed"/> units of an order.</summary>
public sealed record CurvePoint(int Removed, string? LastUnit, LmScore Score);

/// <summary>Pruning orders (one-shot and iterative), candidate units and pruning curves.</summary>
public static class DepthPruner
{
    /// <summary>The kept units that <paramref name="scope"/> allows removing.</summary>
    public static int[] Candidates(UnitNetwork network, PruneScope scope, ulong keep)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (scope != PruneScope.All && network.Granularity != UnitGranularity.Sublayer)
            throw new ArgumentException("attention/MLP-only pruning needs sub-layer units", nameof(scope));
        return [.. Enumerable.Range(0, network.Units.Count).Where(u => (keep & (1UL << u)) != 0 && scope switch
        {
            PruneScope.Attention => network.Units[u].Kind == UnitKind.Attention,
            PruneScope.Mlp => network.Units[u].Kind == UnitKind.Mlp,
            _ => true,
        })];
    }

    /// <summary>Candidates sorted by ascending importance (ties: forward order); NaN importance is an error.</summary>
    public static int[] OneShotOrder(IReadOnlyList<double> importance, IReadOnlyList<int> candidates)
    {
        ArgumentNullException.ThrowIfNull(importance);
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Any(u => double.IsNaN(importance[u])))
            throw new ArgumentException("a candidate unit has no importance value", nameof(importance));
        return [.. candidates.OrderBy(u => importance[u]).ThenBy(u => u)];
    }

    /// <summary>
    /// Removes <paramref name="count"/> units one at a time, re-measuring <paramref name="metric"/> on the pruned
    /// network before each removal. Returns the removal order.
    /// </summary>
    public static int[] IterativeOrder(UnitNetwork network, CalibrationSet data, string metric, PruneScope scope,
        ulong keep, int count, ImportanceOptions options, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var order = new List<int>();
        for (int step = 0; step < count; step++)
        {
            var candidates = Candidates(network, scope, keep);
            if (candidates.Length == 0) break;
            var importance = DepthImportance.Measure(network, data, keep, options, [metric]);
            var unit = OneShotOrder(importance.Metrics[metric], candidates)[0];
            order.Add(unit);
            keep &= ~(1UL << unit);
            progress?.Invoke(step + 1);
        }
        return [.. order];
    }

    /// <summary><paramref name="keep"/> without <paramref name="units"/>.</summary>
    public static ulong Without(ulong keep, IEnumerable<int> units) =>
        units.Aggregate(keep, (m, u) => m & ~(1UL << u));

    /// <summary>Scores after removing 0, 1, …, order.Length units of <paramref name="order"/> (plain skip).</summary>
    public static IReadOnlyList<CurvePoint> Curve(UnitNetwork network, EvalDocuments evaluation, IReadOnlyList<int> order,
        ulong keep, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(order);
        var points = new List<CurvePoint> { new(0, null, LmEvaluation.Evaluate(network, evaluation, keep)) };
        progress?.Invoke(1);
        for (int k = 0; k < order.Count; k++)
        {
            keep &= ~(1UL << order[k]);
            points.Add(new CurvePoint(k + 1, network.Units[order[k]].Name,
                LmEvaluation.Evaluate(network, evaluation, keep)));
            progress?.Invoke(1);
        }
        return points;
    }

    /// <summary>Checks that <paramref name="count"/> units can be removed from <paramref name="candidates"/>.</summary>
    public static void CheckCount(int count, int candidates, string what)
    {
        if (count < 0) throw InputException.ForOption("Remove", $"must be at least 0, got {count}");
        if (count > candidates)
            throw new InputException($"cannot remove {count} units: the model has only {candidates} {what}");
    }
}
