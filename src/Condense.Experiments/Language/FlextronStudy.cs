// `condense study flextron`: does one elastic run give sub-networks as good as pruning and retraining each width on
// its own, with no more tokens in total (issue 14's quality target: within 5% PPL at every width)?
//
// Per model and seed, on the same text and evaluation documents:
// - flextron: ElasticJob.Train (rank, sort, elastic continued training for Steps steps), then each uniform width
//   extracted and evaluated;
// - pruned (a): the same sorted model before any training, each width extracted and evaluated (what sorting alone gives);
// - retrained (b): each width extracted from the sorted model and trained on its own for Steps / |widths| steps (so the
//   widths together see the elastic run's tokens), with the same batch, learning rate and schedule and logit KD from
//   the original model (the elastic sub-networks distil from the co-trained full model), then evaluated.
// - flextron-anchored (with Anchored): the same elastic run, except that the full width also distils from the original
//   (sorted, frozen) model, the signal the retrained baselines get (ElasticJobOptions.AnchorToOriginal);
// Widths are uniform (the same fraction of MLP neurons and KV head groups in every layer); the routed budgets are
// measured by `study flextron-routing`, not here. Each width's latency (one architecture per width, whatever trained it)
// is measured once per model on the native engine, relative to the full model in the same rounds, for the plot of PPL
// against measured latency.
//
// Tokens are counted as tokens of text; an elastic step also runs its RandomSubnetworks extra passes over them, which
// the JSON reports as sub-network passes.
using System.Globalization;
using Condense.Core;
using Condense.Core.Reports;
using Condense.Core.Training;
using Condense.Experiments.Statistics;
using Condense.Language;
using Condense.Language.Elastic;
using Condense.Language.Text;

namespace Condense.Experiments.Language;

/// <summary>One width of one method, model and seed.</summary>
public sealed record FlextronRow(string Model, long Seed, string Method, double Width, long Parameters, double Perplexity, long TrainingTokens);

/// <summary>Measured latency of one uniform width of one model (native engine), and its share of the full model's.</summary>
public sealed record FlextronLatency(string Model, double Width, double PrefillMs, double DecodeMs, double PrefillShare, double DecodeShare);

/// <summary>Everything the study measured.</summary>
public sealed record FlextronResult(IReadOnlyList<string> Models, int Seeds, long Steps, int BatchSize, int SeqLen, int RandomSubnetworks, int EvalDocuments,
    IReadOnlyDictionary<string, double> DensePerplexity, IReadOnlyList<FlextronRow> Rows, IReadOnlyList<FlextronLatency> Latency)
{
    /// <summary>Weight of the full model's loss in the elastic runs.</summary>
    public double FullWeight { get; init; } = 1.0;
    /// <summary>Whether the elastic runs used the sandwich rule.</summary>
    public bool Sandwich { get; init; }
    /// <summary>Whether the elastic runs drew one width for every layer of a random sub-network.</summary>
    public bool SameWidthEveryLayer { get; init; }
    /// <summary>Query heads per kept group the elastic runs also drew (fractions; null: whole groups only).</summary>
    public IReadOnlyList<double>? QueryWidths { get; init; }
}

/// <summary>Settings of the study.</summary>
public sealed record FlextronStudyOptions
{
    /// <summary>Models (llama2.c files or HF folders).</summary>
    public required IReadOnlyList<string> Models { get; init; }
    /// <summary>Where the runs go (resumable).</summary>
    public required string RunDir { get; init; }
    /// <summary>Seeds per model.</summary>
    public int Seeds { get; init; } = 2;
    /// <summary>Elastic training steps (baseline widths get Steps / |widths| each).</summary>
    public long Steps { get; init; } = 300;
    /// <summary>Windows per step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Tokens per window.</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Peak learning rate of every training run.</summary>
    public double LearningRate { get; init; } = 2e-4;
    /// <summary>Random sub-networks per elastic step.</summary>
    public int RandomSubnetworks { get; init; } = 2;
    /// <summary>Uniform widths evaluated (and the candidates trained).</summary>
    public IReadOnlyList<double> Widths { get; init; } = [0.25, 0.5, 0.75, 1.0];
    /// <summary>Training text.</summary>
    public required string TrainText { get; init; }
    /// <summary>Evaluation text.</summary>
    public required string EvalText { get; init; }
    /// <summary>First N evaluation documents (0: all).</summary>
    public int EvalDocs { get; init; } = 1000;
    /// <summary>How training progress is shown.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.None;
    /// <summary>Also run Flextron with the full width anchored to the original model (ElasticJobOptions.AnchorToOriginal).</summary>
    public bool Anchored { get; init; }
    /// <summary>Weight of the full model's loss in the elastic runs (ElasticTrainingOptions.FullWeight).</summary>
    public double FullWeight { get; init; } = 1.0;
    /// <summary>The sandwich rule in the elastic runs (ElasticTrainingOptions.Sandwich).</summary>
    public bool Sandwich { get; init; }
    /// <summary>One width for every layer of a random sub-network in the elastic runs (ElasticTrainingOptions.SameWidthEveryLayer).</summary>
    public bool SameWidthEveryLayer { get; init; }
    /// <summary>
    /// Query heads per kept group the elastic runs also draw (ElasticCandidates.QueryFractions; null: whole groups only).
    /// The widths compared stay whole groups, as the retrained baselines are.
    /// </summary>
    public IReadOnlyList<double>? QueryWidths { get; init; }
    /// <summary>How each width's latency is measured (relative to the full model in the same rounds); null: not measured.</summary>
    public LatencyOptions? Latency { get; init; } = new();
}

/// <summary>Flextron against pruning alone and against pruning and retraining each width.</summary>
public static class FlextronStudy
{
    /// <summary>Runs (or resumes) every model, seed and method.</summary>
    public static FlextronResult Run(FlextronStudyOptions o, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Seeds < 1) throw InputException.ForOption("Seeds", $"{o.Seeds}: must be at least 1");
        if (o.Models.Count == 0) throw InputException.ForOption("Models", ": name at least one");
        if (o.Steps < o.Widths.Count) throw InputException.ForOption("Steps", $"{o.Steps}: must be at least the number of widths ({o.Widths.Count})");
        var candidates = new ElasticCandidates(o.Widths, o.Widths, o.QueryWidths);
        var rows = new List<FlextronRow>();
        var latency = new List<FlextronLatency>();
        var dense = new Dictionary<string, double>();
        int evalDocs = 0;
        foreach (var modelPath in o.Models)
        {
            string name = LanguageModelFiles.ModelName(LanguageModelFiles.ResolveModel(modelPath));
            for (int seed = 0; seed < o.Seeds; seed++)
            {
                var dir = Path.Combine(o.RunDir, name, $"seed{seed}");
                log?.Invoke($"[flextron] {name} seed {seed}: elastic training");
                var training = new ElasticTrainingOptions
                {
                    RunDir = "", Steps = o.Steps, BatchSize = o.BatchSize, SeqLen = o.SeqLen, LearningRate = o.LearningRate,
                    RandomSubnetworks = o.RandomSubnetworks, FullWeight = o.FullWeight, Sandwich = o.Sandwich, SameWidthEveryLayer = o.SameWidthEveryLayer, Candidates = candidates, Seed = seed, CheckpointEvery = 0,
                    Progress = o.Progress, Plots = false,
                };
                var report = ElasticJob.Train(new ElasticJobOptions
                {
                    ModelPath = modelPath, OutDir = dir, TrainText = o.TrainText, Training = training,
                }, log, cancellation);

                var (elastic, tokenizer, _, _) = ElasticJob.Load(report.ElasticDir);
                using (elastic.Model)
                    foreach (var r in ElasticJob.Evaluate(elastic, tokenizer, o.EvalText, o.Widths, o.EvalDocs))
                        rows.Add(new FlextronRow(name, seed, "flextron", r.MlpFraction, r.Parameters, r.Perplexity, report.Training.TokensSeen));
                if (o.Anchored)
                {
                    log?.Invoke($"[flextron] {name} seed {seed}: elastic training, full width anchored to the original");
                    var anchored = ElasticJob.Train(new ElasticJobOptions
                    {
                        ModelPath = modelPath, OutDir = Path.Combine(dir, "anchored"), TrainText = o.TrainText, Training = training, AnchorToOriginal = true,
                    }, log, cancellation);
                    var (model, anchoredTokenizer, _, _) = ElasticJob.Load(anchored.ElasticDir);
                    using (model.Model)
                        foreach (var r in ElasticJob.Evaluate(model, anchoredTokenizer, o.EvalText, o.Widths, o.EvalDocs))
                            rows.Add(new FlextronRow(name, seed, "flextron-anchored", r.MlpFraction, r.Parameters, r.Perplexity, anchored.Training.TokensSeen));
                }

                var (sorted, _, _, _) = ElasticJob.Load(report.SortedDir);
                using (sorted.Model)
                {
                    if (seed == 0 && o.Latency is not null) latency.AddRange(MeasureLatency(name, sorted, o.Widths, o.Latency, log));
                    foreach (var r in ElasticJob.Evaluate(sorted, tokenizer, o.EvalText, o.Widths, o.EvalDocs))
                        rows.Add(new FlextronRow(name, seed, "pruned", r.MlpFraction, r.Parameters, r.Perplexity, 0));
                    if (!dense.ContainsKey(name))
                    {
                        var full = ElasticJob.Evaluate(sorted, tokenizer, o.EvalText, [1.0], o.EvalDocs);
                        dense[name] = full[0].Perplexity;
                    }
                    evalDocs = o.EvalDocs;
                    var text = TokenCorpus.FromFile(o.TrainText, tokenizer);
                    long share = o.Steps / o.Widths.Count;
                    foreach (var w in o.Widths)
                    {
                        log?.Invoke(FormattableString.Invariant($"[flextron] {name} seed {seed}: width {w:P0} retrained alone for {share} steps"));
                        using var sub = sorted.Extract(ElasticWidths.Uniform(sorted.Config, w, w));
                        var alone = new ElasticLlama(sub);
                        var result = ElasticTraining.Train(alone, text, training with
                        {
                            RunDir = Path.Combine(dir, "retrained", w.ToString("0.##", CultureInfo.InvariantCulture)), Steps = share, RandomSubnetworks = 0, FullWeight = 1.0, Sandwich = false, SameWidthEveryLayer = false,
                            Candidates = new ElasticCandidates([1.0], [1.0]), Teacher = sorted.Model,
                        }, cancellation);
                        var ppl = ElasticJob.Evaluate(alone, tokenizer, o.EvalText, [1.0], o.EvalDocs)[0];
                        rows.Add(new FlextronRow(name, seed, "retrained", w, ppl.Parameters, ppl.Perplexity, result.TokensSeen));
                    }
                }
            }
        }
        return new FlextronResult(o.Models.Select(m => LanguageModelFiles.ModelName(LanguageModelFiles.ResolveModel(m))).ToList(), o.Seeds, o.Steps,
            o.BatchSize, o.SeqLen, o.RandomSubnetworks, evalDocs, dense, rows, latency) { FullWeight = o.FullWeight, Sandwich = o.Sandwich, SameWidthEveryLayer = o.SameWidthEveryLayer, QueryWidths = o.QueryWidths };
    }

    // Every width and the full model (the reference, last), timed in the same shuffled rounds.
    private static IEnumerable<FlextronLatency> MeasureLatency(string name, ElasticLlama sorted, IReadOnlyList<double> widths, LatencyOptions options, Action<string>? log)
    {
        log?.Invoke($"[flextron] {name}: latency of each width ({options.Engine} engine, {options.Rounds} rounds)");
        var subnetworks = widths.Select(w => ElasticWidths.Uniform(sorted.Config, w, w)).Append(ElasticWidths.Full(sorted.Config)).ToList();
        var entries = LatencyValidation.Measure(sorted, subnetworks, options, log, reference: subnetworks.Count - 1, label: $"[flextron] {name} latency");
        var full = entries[^1];
        return widths.Select((w, i) => new FlextronLatency(name, w, entries[i].PrefillMs, entries[i].DecodeMs,
            entries[i].PrefillMs / full.PrefillMs, entries[i].DecodeMs / full.DecodeMs)).ToList();
    }

    // What each elastic step trains besides the full model, e.g. "2 random sub-network(s) per step" or, with the
    // sandwich rule, "the narrowest and 1 random sub-network(s) per step".
    private static string Subnetworks(FlextronResult result)
    {
        string random = result.SameWidthEveryLayer ? "random sub-network(s), one width for every layer," : "random sub-network(s)";
        if (result.QueryWidths is { } queries)
            random += string.Create(CultureInfo.InvariantCulture, $" with query heads per group from {string.Join(", ", queries.Select(q => q.ToString("0.##", CultureInfo.InvariantCulture)))},");
        return result.Sandwich
            ? string.Create(CultureInfo.InvariantCulture, $"the narrowest and {result.RandomSubnetworks - 1} {random} per step, sandwich rule")
            : string.Create(CultureInfo.InvariantCulture, $"{result.RandomSubnetworks} {random} per step");
    }

    /// <summary>Per model: PPL per width and method (mean ± std over seeds), and Flextron against retraining, paired by seed.</summary>
    public static string ToMarkdown(FlextronResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new System.Text.StringBuilder();
        static string Pm(IEnumerable<double> v) => SeedStatistics.Format(v);
        foreach (var model in result.Models)
        {
            var rows = result.Rows.Where(r => r.Model == model).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"**{model}** (dense PPL {result.DensePerplexity.GetValueOrDefault(model, double.NaN):F3}; ");
            sb.Append(CultureInfo.InvariantCulture, $"{result.Seeds} seed(s); elastic tokens {rows.Where(r => r.Method == "flextron").Select(r => r.TrainingTokens).FirstOrDefault():N0} ({Subnetworks(result)}{(result.FullWeight == 1.0 ? "" : string.Create(CultureInfo.InvariantCulture, $", full model's loss weighted {result.FullWeight:0.##}"))}), ");
            sb.Append(CultureInfo.InvariantCulture, $"retrained widths together {rows.Where(r => r.Method == "retrained" && r.Seed == 0).Sum(r => r.TrainingTokens):N0}):\n\n");
            bool anchored = rows.Any(r => r.Method == "flextron-anchored");
            var shares = result.Latency.Where(l => l.Model == model).ToDictionary(l => l.Width, l => l.DecodeShare);
            var headers = new List<string> { "width", "parameters", "pruned, no retraining", "pruned + retrained alone", "Flextron (one elastic run)",
                "Flextron vs retrained, per seed", "within 5%" };
            if (shares.Count > 0) headers.Insert(2, "decode latency, of full");
            if (anchored) headers.AddRange(["Flextron, full width anchored", "anchored vs retrained, per seed", "within 5%"]);
            var table = new MarkdownTable([.. headers]);
            foreach (var w in rows.Select(r => r.Width).Distinct().Order())
            {
                IEnumerable<double> Ppl(string method) => rows.Where(r => r.Method == method && r.Width == w).OrderBy(r => r.Seed).Select(r => r.Perplexity);
                List<double> Ratios(string method) => Ppl(method).Zip(Ppl("retrained"), (f, b) => f / b - 1).ToList();
                static string PerSeed(List<double> ratios) => string.Join(", ", ratios.Select(SignedFormat.Percent));
                static string Within(List<double> ratios) => ratios.All(r => r <= 0.05) ? "yes" : ratios.Any(r => r <= 0.05) ? "some seeds" : "no";
                var cells = new List<string>
                {
                    w.ToString("P0", CultureInfo.InvariantCulture), rows.First(r => r.Width == w).Parameters.ToString("N0", CultureInfo.InvariantCulture),
                    Pm(Ppl("pruned")), Pm(Ppl("retrained")), Pm(Ppl("flextron")), PerSeed(Ratios("flextron")), Within(Ratios("flextron")),
                };
                if (shares.Count > 0) cells.Insert(2, shares.TryGetValue(w, out var share) ? share.ToString("P0", CultureInfo.InvariantCulture) : "–");
                if (anchored) cells.AddRange([Pm(Ppl("flextron-anchored")), PerSeed(Ratios("flextron-anchored")), Within(Ratios("flextron-anchored"))]);
                table.AddRow([.. cells]);
            }
            sb.Append(table).Append('\n');
        }
        return sb.ToString().TrimEnd('\n');
    }

    /// <summary>PPL against parameters, one line per method and model (seed means).</summary>
    public static void Plot(string path, FlextronResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Plots.LineChart(path, "Perplexity against size: one elastic run vs pruning", "parameters (thousands)", "PPL (log)",
            Series(result, (model, width, parameters) => parameters / 1e3), logY: true);
    }

    /// <summary>PPL against measured decode latency (share of the full model's), one line per method and model (seed means).</summary>
    public static void PlotLatency(string path, FlextronResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var shares = result.Latency.ToDictionary(l => (l.Model, l.Width), l => l.DecodeShare * 100);
        Plots.LineChart(path, "Perplexity against measured decode latency", "decode latency (% of the full model's, native engine)", "PPL (log)",
            Series(result, (model, width, _) => shares.GetValueOrDefault((model, width), double.NaN)), logY: true);
    }

    private static List<PlotSeries> Series(FlextronResult result, Func<string, double, long, double> x)
    {
        var series = new List<PlotSeries>();
        foreach (var model in result.Models)
            foreach (var method in new[] { "pruned", "retrained", "flextron", "flextron-anchored" }.Where(m => result.Rows.Any(r => r.Model == model && r.Method == m)))
            {
                var points = result.Rows.Where(r => r.Model == model && r.Method == method).GroupBy(r => r.Width).OrderBy(g => g.Key)
                    .Select(g => (X: x(model, g.Key, g.First().Parameters), Y: g.Average(r => r.Perplexity))).Where(p => double.IsFinite(p.X)).ToList();
                series.Add(new PlotSeries($"{model} {method}", points.Select(p => p.X).ToList(), points.Select(p => p.Y).ToList()));
            }
        return series;
    }
}
