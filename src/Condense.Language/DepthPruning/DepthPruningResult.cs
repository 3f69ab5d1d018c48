// The outcome of one depth-pruning run, shaped for JSON output (non-finite numbers become null).
namespace Condense.Language.DepthPruning;

/// <summary>One unit's importance under every metric (low = prunable).</summary>
public sealed record UnitMetricsRow(string Unit, IReadOnlyDictionary<string, double?> Importance);

/// <summary>One Shapley-type estimate: φ per unit (NaN/null for units not in the game), its SE, v(all), v(none).</summary>
public sealed record EstimateRow(string Estimator, string Value, IReadOnlyList<double?> Phi,
    IReadOnlyList<double?> StandardError, double? VAll, double? VNone, double? EfficiencyGap, long Evaluations);

/// <summary>How well an importance metric ranks units like an exact Shapley metric.</summary>
public sealed record ComparisonRow(string Metric, string Reference, double? Spearman, double? MeanAbsError);

/// <summary>Scores after removing the first k units of a metric's order.</summary>
public sealed record CurveRow(string Metric, IReadOnlyList<string> Order, IReadOnlyList<double?> Perplexity,
    IReadOnlyList<double?> DialogueAccuracy, IReadOnlyList<double?> NarrativeAccuracy)
{
    /// <summary>Perplexity along the same order on the selection documents (empty without a selection split).</summary>
    public IReadOnlyList<double?> SelectionPerplexity { get; init; } = [];
}

/// <summary>
/// For one count of removed units: the metric whose one-shot order scored best on the selection documents, and what
/// that order gives on the evaluation documents (the honest number). Oracle* is the best order picked on the
/// evaluation documents themselves, shown only to size the selection bias.
/// </summary>
public sealed record SelectedOrderRow(int Removed, string Metric, double? SelectionPerplexity, double? EvaluationPerplexity,
    string OracleMetric, double? OraclePerplexity);

/// <summary>Perplexity with one unit removed, plain and with each stand-in.</summary>
public sealed record SingleUnitRecoveryRow(string Unit, double? None, double? MeanBias, double? Adapter);

/// <summary>Scores of the final pruned model under each recovery.</summary>
public sealed record RecoveryRow(string Recovery, double? Perplexity, double? Loss, double? DialogueAccuracy,
    double? NarrativeAccuracy);

/// <summary>KV cache and decode speed before and after pruning.</summary>
public sealed record KvRow(string Model, int CachedLayers, long CacheBytes, int GeneratedTokens, double? TokensPerSecond);

/// <summary>Everything a run produced.</summary>
public sealed record DepthPruningResult(
    string Model,
    string Units,
    string Metric,
    bool Iterative,
    string Recovery,
    IReadOnlyList<string> UnitNames,
    IReadOnlyList<string> ValueNames,
    IReadOnlyList<double?> VAll,
    IReadOnlyList<double?> VNone,
    IReadOnlyList<UnitMetricsRow> UnitMetrics,
    IReadOnlyList<EstimateRow> Estimates,
    IReadOnlyList<ComparisonRow> EstimatorComparison,
    IReadOnlyList<CurveRow> PruningCurve,
    IReadOnlyList<SelectedOrderRow> SelectedOrders,
    IReadOnlyList<string> Removed,
    IReadOnlyList<RecoveryRow> RecoveryResults,
    IReadOnlyList<SingleUnitRecoveryRow> SingleUnitRecovery,
    IReadOnlyList<KvRow> KvCache,
    int CalibrationTokens,
    long EvalTokens,
    int EvalDocuments,
    string OutputDir,
    string Checkpoint,
    string SensitivityPlot,
    string CurvePlot,
    string Report,
    double ElapsedSeconds)
{
    internal static double? F(double x) => double.IsFinite(x) ? x : null;

    internal static IReadOnlyList<double?> F(IEnumerable<double> xs) => [.. xs.Select(F)];
}
