// Every importance metric of the units still kept in a network, from one calibration set. The Shapley-type
// estimates are kept whole (φ, standard errors, v(all), v(none)) for the report and the estimator comparison.
namespace Condense.Language.DepthPruning;

/// <summary>How the Shapley-type estimates are computed.</summary>
/// <param name="Exact">Enumerate all coalitions (needs at most 14 units).</param>
/// <param name="Permutations">Monte-Carlo permutations (0: skip).</param>
/// <param name="SubsetFraction">Size of the contrast's random sub-networks as a fraction of the units (0.5 in the layer script).</param>
/// <param name="SubsetsPerSample">Random sub-networks per calibration window (10 in the reference code).</param>
/// <param name="Seed">Seed of the Monte-Carlo and subset draws.</param>
/// <param name="RowsPerBatch">Calibration windows per forward pass.</param>
public sealed record ImportanceOptions(
    bool Exact = true,
    int Permutations = 32,
    double SubsetFraction = 0.5,
    int SubsetsPerSample = 10,
    int Seed = 0,
    int RowsPerBatch = 16);

/// <summary>Per-unit importance (low = prunable) under every metric, for the units kept in <see cref="Keep"/>.</summary>
public sealed class DepthImportance
{
    private DepthImportance(ulong keep, int[] players, Dictionary<string, double[]> metrics,
        List<ShapleyEstimate> estimates, double[] full, double[] empty, double[][] leaveOneOut)
    {
        Keep = keep;
        Players = players;
        Metrics = metrics;
        Estimates = estimates;
        Full = full;
        Empty = empty;
        LeaveOneOut = leaveOneOut;
    }

    /// <summary>Units kept when measuring.</summary>
    public ulong Keep { get; }

    /// <summary>The kept unit indices (the game's players), in forward order.</summary>
    public IReadOnlyList<int> Players { get; }

    /// <summary>Metric name → importance per unit of the network (NaN for removed units and skipped metrics).</summary>
    public IReadOnlyDictionary<string, double[]> Metrics { get; }

    /// <summary>Shapley-type estimates per estimator and value function, φ indexed by unit (NaN for removed units).</summary>
    public IReadOnlyList<ShapleyEstimate> Estimates { get; }

    /// <summary>v(all kept) per value function (<see cref="NetworkGame.Values"/>).</summary>
    public IReadOnlyList<double> Full { get; }

    /// <summary>v(none of the kept units) per value function.</summary>
    public IReadOnlyList<double> Empty { get; }

    /// <summary>v(kept ∖ {unit}) per unit, per value function (NaN rows for removed units).</summary>
    public IReadOnlyList<double[]> LeaveOneOut { get; }

    /// <summary>Measures every metric (or only <paramref name="only"/>) on the units kept in <paramref name="keep"/>.</summary>
    public static DepthImportance Measure(UnitNetwork network, CalibrationSet data, ulong keep,
        ImportanceOptions options, IReadOnlyCollection<string>? only = null, Action<string>? log = null)
    {
        log ??= _ => { };
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        bool Wants(string m) => only is null || only.Contains(m);
        int units = network.Units.Count;
        var players = Enumerable.Range(0, units).Where(u => (keep & (1UL << u)) != 0).ToArray();
        if (players.Length == 0) throw new ArgumentException("no unit is kept", nameof(keep));
        double[] Nan() => Enumerable.Repeat(double.NaN, units).ToArray();
        double[] Spread(double[] perPlayer, bool negate)
        {
            var v = Nan();
            for (int j = 0; j < players.Length; j++) v[players[j]] = negate ? -perPlayer[j] : perPlayer[j];
            return v;
        }

        var metrics = new Dictionary<string, double[]>();
        if (Wants(ImportanceMetric.Cosine) || Wants(ImportanceMetric.RelativeL1) || Wants(ImportanceMetric.RelativeL2))
        {
            var m = UpdateMetrics.Measure(network, data, keep, options.RowsPerBatch);
            metrics[ImportanceMetric.Cosine] = m.Cosine;
            metrics[ImportanceMetric.RelativeL1] = m.RelativeL1;
            metrics[ImportanceMetric.RelativeL2] = m.RelativeL2;
        }

        using var game = new NetworkGame(network, data, players, fixedKeep: 0, options.RowsPerBatch)
        {
            Progress = (done, total) => log($"exact Shapley: {done}/{total} coalition evaluations"),
        };
        var estimates = new List<ShapleyEstimate>();
        var full = game.Value(game.All);
        var empty = game.Value(0);
        var loo = Enumerable.Range(0, units).Select(_ => Enumerable.Repeat(double.NaN, NetworkGame.Values.Length).ToArray()).ToArray();
        for (int j = 0; j < players.Length; j++) loo[players[j]] = game.Value(game.All & ~(1UL << j));
        metrics[ImportanceMetric.LeaveOneOut] = Enumerable.Range(0, units)
            .Select(u => (keep & (1UL << u)) != 0 ? loo[u][0] - full[0] : double.NaN).ToArray();

        void AddEstimates(IReadOnlyList<ShapleyEstimate> list, params (string Metric, int Value)[] map)
        {
            foreach (var e in list)
                estimates.Add(e with { Phi = Spread(e.Phi, false), StandardError = Spread(e.StandardError, false) });
            foreach (var (metric, value) in map) metrics[metric] = Spread(list[value].Phi, negate: true);
        }

        bool exactWanted = ImportanceMetric.All.Where(ImportanceMetric.NeedsExact).Any(Wants);
        if (options.Exact && exactWanted && players.Length <= ExactShapley.MaxPlayers)
            AddEstimates(ExactShapley.FromTable(players.Length, game.ValueNames, game.AllValues()),
                (ImportanceMetric.LossShapley, 0), (ImportanceMetric.LogitShapley, 1),
                (ImportanceMetric.DialogueShapley, 2), (ImportanceMetric.NarrativeShapley, 3));
        if (options.Permutations >= 2 && (Wants(ImportanceMetric.McLossShapley) || Wants(ImportanceMetric.McLogitShapley)))
            log($"Monte-Carlo Shapley: {options.Permutations} permutations");
        if (options.Permutations >= 2 && (Wants(ImportanceMetric.McLossShapley) || Wants(ImportanceMetric.McLogitShapley)))
            AddEstimates(PermutationShapley.Estimate(game, options.Permutations, options.Seed),
                (ImportanceMetric.McLossShapley, 0), (ImportanceMetric.McLogitShapley, 1));
        if (players.Length >= 2)
        {
            AddEstimates(SubsetContrast.LeaveOneOut(game));
            int size = (int)Math.Floor(options.SubsetFraction * players.Length);
            if ((Wants(ImportanceMetric.ContrastLoss) || Wants(ImportanceMetric.ContrastLogit)) && size >= 1 && size < players.Length)
                AddEstimates(SubsetContrast.RandomSubsets(game, options.SubsetFraction, options.SubsetsPerSample, options.Seed),
                    (ImportanceMetric.ContrastLoss, 0), (ImportanceMetric.ContrastLogit, 1));
        }
        return new DepthImportance(keep, players, metrics, estimates, full, empty, loo);
    }
}
