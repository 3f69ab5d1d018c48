// One depth-pruning run end to end (the `condense prune-depth` command): measure every importance metric of the
// units on calibration text, compare the estimators with exact Shapley, trace PPL as units are removed in each
// metric's order, prune by the chosen metric (one-shot or iterative), fit the recovery stand-ins, evaluate, time
// the KV-cache generation before/after, and write the checkpoint, plots, report and result.
// Paper: Siddiqui et al., "A deeper look at depth pruning of LLMs", arXiv:2407.16286; reference code
// shoaibahmed/llm_depth_pruning (read for the estimator and pruning loop; no code copied).
//
// Deviations from the paper and its code:
// - Scale: 5-layer TinyStories LLaMAs (dim 64) instead of 7B models; calibration is TinyStories text (16 windows
//   of 256 tokens by default) instead of OpenWebText 2048-token sequences; perplexity uses the repository's
//   per-document protocol on TinyStories validation text, not an OpenWebText test split.
// - The second task is next-token accuracy on quoted speech vs narration (DialogueLabels) instead of MMLU; the
//   "task-adaptive" Shapley metrics use its 0-1 error as the value, like the paper's MMLU Shapley.
// - Exact Shapley (all 2^n coalitions) and Monte-Carlo permutation Shapley are added next to the reference code's
//   estimator (SubsetContrast), which the paper calls Shapley; all three are reported and compared.
// - Update metrics of a sub-layer use the residual stream before and after that sub-layer (x, x + update).
// - The low-rank adapter has a bias started at the mean update (UnitReplacement); recovery is fitted unit by
//   unit on the pruned network's own activations.
// - KV-cache timing runs the runtime's pruned model without stand-ins (adding a constant or rank-r update per
//   removed unit is a negligible cost next to a sub-layer).
using System.Diagnostics;
using Condense.Core;
using Condense.Core.IO;

namespace Condense.Language.DepthPruning;

/// <summary>Settings of a depth-pruning run.</summary>
public sealed record DepthPruningOptions
{
    /// <summary>Model to prune: a llama2.c file or a Hugging Face folder.</summary>
    public required string ModelPath { get; init; }
    /// <summary>Folder for the pruned checkpoint, plots and report.</summary>
    public required string OutputDir { get; init; }

    /// <summary>block, attention, mlp or sublayer.</summary>
    public string Units { get; init; } = "sublayer";
    /// <summary>Importance metric that orders the units for pruning (an <see cref="ImportanceMetric"/> name).</summary>
    public string Metric { get; init; } = ImportanceMetric.LossShapley;
    /// <summary>Number of units to remove.</summary>
    public int Remove { get; init; } = 1;
    /// <summary>Stand-in installed for the removed units in the saved model.</summary>
    public RecoveryKind Recovery { get; init; } = RecoveryKind.None;
    /// <summary>Re-measure the metric on the pruned network after every removal instead of ranking once.</summary>
    public bool Iterative { get; init; }
    /// <summary>llama2.c tokenizer file; null: the one beside the model, else the shared default.</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Calibration text; null: the shared TinyStories training text (part A).</summary>
    public string? CalibrationPath { get; init; }
    /// <summary>Evaluation text; null: the shared TinyStories validation text.</summary>
    public string? EvalPath { get; init; }
    /// <summary>Number of calibration windows.</summary>
    public int CalibrationSamples { get; init; } = 16;
    /// <summary>Tokens per calibration window (at most the model's sequence length).</summary>
    public int CalibrationLength { get; init; } = 256;

    /// <summary>Evaluate on the first N documents of the evaluation text (0: all).</summary>
    public int EvalDocuments { get; init; }

    /// <summary>
    /// Documents after the evaluation ones on which the best metric order per count is selected (0: no selection
    /// split, no selected orders); needs EvalDocuments &gt; 0 so the two splits are disjoint.
    /// </summary>
    public int SelectionDocuments { get; init; }
    /// <summary>How the importance metrics are estimated.</summary>
    public ImportanceOptions Importance { get; init; } = new();
    /// <summary>Fit settings of the low-rank adapter stand-ins.</summary>
    public AdapterOptions Adapter { get; init; } = new();

    /// <summary>Metrics whose pruning curve is traced (null: every metric computed).</summary>
    public IReadOnlyList<string>? CurveMetrics { get; init; }
    /// <summary>Also report the perplexity of removing each candidate unit alone, under every recovery technique.</summary>
    public bool SingleUnitRecovery { get; init; } = true;

    /// <summary>Generation length for the KV-cache timing (0: skip).</summary>
    public int GenerationSteps { get; init; } = 200;
}

/// <summary>Runs a whole depth-pruning experiment (the <c>condense prune-depth</c> command).</summary>
public static class DepthPruningJob
{
    /// <summary>File name of the per-unit importance plot in the output folder.</summary>
    public const string SensitivityPlotFile = "sensitivity.png";
    /// <summary>File name of the perplexity-vs-units-removed plot in the output folder.</summary>
    public const string CurvePlotFile = "pruning_curve.png";
    /// <summary>File name of the Markdown report in the output folder.</summary>
    public const string ReportFile = "report.md";

    /// <summary>Checks the options that do not need the model, so bad input fails before any work.</summary>
    public static (UnitGranularity Granularity, PruneScope Scope) Parse(DepthPruningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ImportanceMetric.Parse(options.Metric);
        foreach (var m in options.CurveMetrics ?? []) ImportanceMetric.Parse(m);
        if (options.Remove < 0) throw InputException.ForOption("Remove", $"must be at least 0, got {options.Remove}");
        if (options.Importance is { } imp)
        {
            if (!(imp.SubsetFraction > 0 && imp.SubsetFraction < 1))
                throw InputException.ForOption("SubsetFraction", $"must be in (0, 1), got {imp.SubsetFraction.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            if (imp.SubsetsPerSample < 1) throw InputException.ForOption("SubsetsPerSample", $"must be at least 1, got {imp.SubsetsPerSample}");
            if (imp.Permutations < 0) throw InputException.ForOption("Permutations", $"must be at least 0, got {imp.Permutations}");
        }
        if (options.SelectionDocuments < 0) throw new InputException($"SelectionDocuments must be at least 0, got {options.SelectionDocuments}");
        if (options.SelectionDocuments > 0 && options.EvalDocuments <= 0)
            throw new InputException("SelectionDocuments needs EvalDocuments > 0: selection uses the documents after the evaluation ones");
        return options.Units switch
        {
            "block" => (UnitGranularity.Block, PruneScope.All),
            "sublayer" => (UnitGranularity.Sublayer, PruneScope.All),
            "attention" => (UnitGranularity.Sublayer, PruneScope.Attention),
            "mlp" => (UnitGranularity.Sublayer, PruneScope.Mlp),
            _ => throw InputException.ForOption("Units", $"'{options.Units}' is unknown (expected block, attention, mlp or sublayer)"),
        };
    }

    /// <summary>
    /// Measures every importance metric, traces the pruning curves, prunes and recovers the model, times KV-cache
    /// decoding, writes the checkpoint, plots and report into <see cref="DepthPruningOptions.OutputDir"/>, and returns the result.
    /// </summary>
    public static DepthPruningResult Run(DepthPruningOptions options, Action<string>? log = null)
    {
        var (granularity, scope) = Parse(options);
        OutputPaths.RequireWritableDirectory(options.OutputDir, nameof(options.OutputDir));   // before any work, not after it
        log ??= _ => { };
        var clock = Stopwatch.StartNew();

        // Model and units. Bad counts and metrics fail before any expensive step.
        var (loaded, tokenizer, _, _) = LanguageModelFiles.Load(options.ModelPath, options.TokenizerPath);
        using var model = loaded;
        model.eval();
        var network = new UnitNetwork(model, granularity);
        ulong all = Enumerable.Range(0, network.Units.Count).Where(network.HasWeights).Aggregate(0UL, (m, u) => m | (1UL << u));
        var candidates = DepthPruner.Candidates(network, scope, all);
        DepthPruner.CheckCount(options.Remove, candidates.Length, ScopeName(options.Units));
        int players = System.Numerics.BitOperations.PopCount(all);
        bool exact = options.Importance.Exact && players <= ExactShapley.MaxPlayers;
        if (ImportanceMetric.NeedsExact(options.Metric) && !exact)
            throw InputException.ForOption("Metric", $"{options.Metric} needs exact Shapley values, which enumerate all " +
                $"coalitions of at most {ExactShapley.MaxPlayers} units; this model has {players} (use mc-loss-shapley)");
        if (options.Metric is ImportanceMetric.McLossShapley or ImportanceMetric.McLogitShapley && options.Importance.Permutations < 2)
            throw InputException.ForOption("Permutations", $"{options.Importance.Permutations}: metric {options.Metric} needs at least 2");

        // Data.
        var calPath = LanguageModelFiles.Resolve(options.CalibrationPath, LanguageModelFiles.DefaultCalibrationText);
        var evalPath = LanguageModelFiles.Resolve(options.EvalPath, LanguageModelFiles.DefaultEvalText);
        if (options.CalibrationLength > model.Config.MaxSeqLen)
            throw InputException.ForOption("CalibrationLength", $"{options.CalibrationLength} exceeds the model's sequence length {model.Config.MaxSeqLen}");
        long needTokens = (long)options.CalibrationSamples * (options.CalibrationLength + 1);
        var corpus = Text.TokenCorpus.FromFile(calPath, tokenizer, maxTokens: needTokens, labels: true);
        using var calibration = CalibrationSet.From(corpus, options.CalibrationSamples, options.CalibrationLength, calPath);
        var evaluation = EvalDocuments.Load(evalPath, tokenizer, model.Config.MaxSeqLen, options.EvalDocuments);
        if (evaluation.Sequences.Count == 0) throw new InputException($"{evalPath}: no document to evaluate on");
        var selection = options.SelectionDocuments > 0
            ? EvalDocuments.Load(evalPath, tokenizer, model.Config.MaxSeqLen, options.SelectionDocuments, skipDocuments: options.EvalDocuments)
            : null;
        if (selection is { Sequences.Count: 0 })
            throw new InputException($"{evalPath}: no document left for selection after the first {options.EvalDocuments}");
        log($"{network.Units.Count} units ({options.Units}), calibration {calibration.Sequences}x{calibration.Length} tokens, " +
            $"evaluation {evaluation.Sequences.Count} documents");

        // Importance of every unit under every metric.
        log(exact ? $"importance: all metrics, exact Shapley over {1 << players} coalitions" : "importance: all metrics (no exact Shapley: too many units)");
        var importance = DepthImportance.Measure(network, calibration, all, options.Importance with { Exact = exact }, log: log);
        var metricNames = ImportanceMetric.All.Where(m => importance.Metrics.ContainsKey(m)).ToArray();
        var comparison = Compare(importance, metricNames);

        // PPL as units are removed in each metric's order (plain skip).
        var curveMetrics = (options.CurveMetrics ?? metricNames).Where(metricNames.Contains).ToArray();
        var curves = new List<CurveRow>();
        foreach (var metric in curveMetrics)
        {
            var order = DepthPruner.OneShotOrder(importance.Metrics[metric], candidates);
            log($"curve: {metric} removes {string.Join(", ", order.Select(u => network.Units[u].Name))}");
            var points = DepthPruner.Curve(network, evaluation, order, all);
            var selected = selection is null ? null : DepthPruner.Curve(network, selection, order, all);
            curves.Add(new CurveRow(metric, [.. order.Select(u => network.Units[u].Name)],
                DepthPruningResult.F(points.Select(p => p.Score.Perplexity)),
                DepthPruningResult.F(points.Select(p => p.Score.DialogueAccuracy)),
                DepthPruningResult.F(points.Select(p => p.Score.NarrativeAccuracy)))
            {
                SelectionPerplexity = selected is null ? [] : DepthPruningResult.F(selected.Select(p => p.Score.Perplexity)),
            });
        }
        var selectedOrders = selection is null ? [] : SelectOrders(curves);

        // The pruning decision.
        int[] removed = options.Iterative
            ? DepthPruner.IterativeOrder(network, calibration, options.Metric, scope, all, options.Remove,
                options.Importance with { Exact = exact }, step => log($"iterative: {step}/{options.Remove} removed"))
            : [.. DepthPruner.OneShotOrder(importance.Metrics[options.Metric], candidates).Take(options.Remove)];
        ulong keep = DepthPruner.Without(all, removed);
        log(removed.Length == 0 ? "removing nothing" :
            $"removing {string.Join(", ", removed.Select(u => network.Units[u].Name))} by {options.Metric}" + (options.Iterative ? " (iterative)" : ""));

        // Recovery: the final model under each technique, then the chosen one stays installed.
        var recoveryRows = new List<RecoveryRow>();
        long evalTokens = 0;
        foreach (var kind in new[] { RecoveryKind.None, RecoveryKind.MeanBias, RecoveryKind.Adapter })
        {
            if (removed.Length == 0 && kind != RecoveryKind.None) continue;
            Recovery.Fit(network, calibration, keep, kind, options.Adapter, options.Importance.RowsPerBatch);
            var s = LmEvaluation.Evaluate(network, evaluation, keep);
            evalTokens = s.Tokens;
            recoveryRows.Add(new RecoveryRow(KindName(kind), DepthPruningResult.F(s.Perplexity), DepthPruningResult.F(s.Loss),
                DepthPruningResult.F(s.DialogueAccuracy), DepthPruningResult.F(s.NarrativeAccuracy)));
        }

        var single = new List<SingleUnitRecoveryRow>();
        if (options.SingleUnitRecovery)
        {
            foreach (var u in candidates)
            {
                ulong k = all & ~(1UL << u);
                var ppl = new double[3];
                foreach (var kind in new[] { RecoveryKind.None, RecoveryKind.MeanBias, RecoveryKind.Adapter })
                {
                    Recovery.Fit(network, calibration, k, kind, options.Adapter, options.Importance.RowsPerBatch);
                    ppl[(int)kind] = LmEvaluation.Evaluate(network, evaluation, k).Perplexity;
                }
                single.Add(new SingleUnitRecoveryRow(network.Units[u].Name, DepthPruningResult.F(ppl[0]),
                    DepthPruningResult.F(ppl[1]), DepthPruningResult.F(ppl[2])));
                log($"single-unit recovery: {network.Units[u].Name} PPL none {ppl[0]:F3}, mean-bias {ppl[1]:F3}, adapter {ppl[2]:F3}");
            }
        }
        Recovery.Fit(network, calibration, keep, options.Recovery, options.Adapter, options.Importance.RowsPerBatch);

        // Checkpoint, then the KV cache and decode speed of the full and the pruned model.
        Directory.CreateDirectory(options.OutputDir);
        PrunedCheckpoint.Save(options.OutputDir, network, keep);
        var kv = new List<KvRow>();
        if (options.GenerationSteps > 0)
        {
            int steps = Math.Min(options.GenerationSteps, model.Config.MaxSeqLen);
            var prompt = tokenizer.Encode("Once upon a time", bos: true);
            var before = KvCacheMeasurement.Measure(model, prompt, steps);
            using var pruned = PrunedCheckpoint.BuildPruned(network, keep);
            var after = KvCacheMeasurement.Measure(pruned, prompt, steps);
            kv.Add(new KvRow("full", before.CachedLayers, before.CacheBytes, before.GeneratedTokens, DepthPruningResult.F(before.TokensPerSecond)));
            kv.Add(new KvRow("pruned", after.CachedLayers, after.CacheBytes, after.GeneratedTokens, DepthPruningResult.F(after.TokensPerSecond)));
        }

        var result = new DepthPruningResult(
            Model: Path.GetFullPath(options.ModelPath),
            Units: options.Units,
            Metric: options.Metric,
            Iterative: options.Iterative,
            Recovery: KindName(options.Recovery),
            UnitNames: [.. network.Units.Select(u => u.Name)],
            ValueNames: NetworkGame.Values,
            VAll: DepthPruningResult.F(importance.Full),
            VNone: DepthPruningResult.F(importance.Empty),
            UnitMetrics: [.. network.Units.Select((u, i) => new UnitMetricsRow(u.Name,
                metricNames.ToDictionary(m => m, m => DepthPruningResult.F(importance.Metrics[m][i]))))],
            Estimates: [.. importance.Estimates.Select(e => new EstimateRow(e.Estimator, e.ValueName, DepthPruningResult.F(e.Phi),
                DepthPruningResult.F(e.StandardError), DepthPruningResult.F(e.Full), DepthPruningResult.F(e.Empty),
                DepthPruningResult.F(e.EfficiencyGap), e.Evaluations))],
            EstimatorComparison: comparison,
            PruningCurve: curves,
            SelectedOrders: selectedOrders,
            Removed: [.. removed.Select(u => network.Units[u].Name)],
            RecoveryResults: recoveryRows,
            SingleUnitRecovery: single,
            KvCache: kv,
            CalibrationTokens: calibration.Sequences * calibration.Length,
            EvalTokens: evalTokens,
            EvalDocuments: evaluation.Sequences.Count,
            OutputDir: Path.GetFullPath(options.OutputDir),
            Checkpoint: Path.GetFullPath(Path.Combine(options.OutputDir, PrunedCheckpoint.ModelFolder)),
            SensitivityPlot: Path.GetFullPath(Path.Combine(options.OutputDir, SensitivityPlotFile)),
            CurvePlot: Path.GetFullPath(Path.Combine(options.OutputDir, CurvePlotFile)),
            Report: Path.GetFullPath(Path.Combine(options.OutputDir, ReportFile)),
            ElapsedSeconds: clock.Elapsed.TotalSeconds);
        DepthPruningReport.Write(result);
        return result with { ElapsedSeconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>Rank agreement (and, for Shapley-scale metrics, mean absolute error) of every metric with exact Shapley.</summary>
    private static List<ComparisonRow> Compare(DepthImportance importance, string[] metrics)
    {
        var rows = new List<ComparisonRow>();
        var units = importance.Players;
        foreach (var reference in new[] { ImportanceMetric.LossShapley, ImportanceMetric.LogitShapley })
        {
            if (!importance.Metrics.TryGetValue(reference, out var exact)) continue;
            var exactOn = units.Select(u => exact[u]).ToArray();
            foreach (var m in metrics)
            {
                if (m == reference) continue;
                var values = units.Select(u => importance.Metrics[m][u]).ToArray();
                bool sameScale = reference == ImportanceMetric.LossShapley
                    ? m is ImportanceMetric.McLossShapley or ImportanceMetric.ContrastLoss or ImportanceMetric.LeaveOneOut
                    : m is ImportanceMetric.McLogitShapley or ImportanceMetric.ContrastLogit;
                double? mae = sameScale ? DepthPruningResult.F(values.Zip(exactOn, (a, b) => Math.Abs(a - b)).Average()) : null;
                rows.Add(new ComparisonRow(m, reference, DepthPruningResult.F(RankCorrelation.Spearman(values, exactOn)), mae));
            }
        }
        return rows;
    }

    /// <summary>
    /// Per count of removed units, the metric whose order has the lowest selection-split perplexity (first in curve
    /// order on ties), with its evaluation-split perplexity, and the evaluation-split oracle for comparison.
    /// </summary>
    public static List<SelectedOrderRow> SelectOrders(IReadOnlyList<CurveRow> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var rows = new List<SelectedOrderRow>();
        if (curves.Count == 0 || curves.Any(c => c.SelectionPerplexity.Count != c.Perplexity.Count)) return rows;
        int points = curves.Min(c => c.Perplexity.Count);
        for (int k = 1; k < points; k++)
        {
            int count = k;
            var chosen = curves.MinBy(c => c.SelectionPerplexity[count] ?? double.PositiveInfinity)!;
            var oracle = curves.MinBy(c => c.Perplexity[count] ?? double.PositiveInfinity)!;
            rows.Add(new SelectedOrderRow(count, chosen.Metric, chosen.SelectionPerplexity[count], chosen.Perplexity[count],
                oracle.Metric, oracle.Perplexity[count]));
        }
        return rows;
    }

    private static string KindName(RecoveryKind kind) => kind switch
    {
        RecoveryKind.MeanBias => "mean-bias",
        RecoveryKind.Adapter => "adapter",
        _ => "none",
    };

    private static string ScopeName(string units) => units switch
    {
        "block" => "blocks",
        "attention" => "attention sub-layers",
        "mlp" => "MLP sub-layers",
        _ => "sub-layers",
    };
}
