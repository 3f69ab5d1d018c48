// `condense study flextron-held-out`: does the elastic-training setting picked on the evaluation documents every
// Flextron table used still meet issue 14's quality target (within 5% PPL of the separately retrained width, at every
// width and seed) on documents nobody looked at?
//
// The flextron study's tables score the first SelectionDocs documents of the evaluation text, and the settings
// (anchor, full-model loss weight, same-width draws, ...) were chosen by reading them. This study re-scores the finished
// runs of several such settings, unchanged, on two disjoint splits of that text:
// - selection: the first SelectionDocs documents (the ones the tables used);
// - report: the documents after them (ReportDocs of them, or all).
// The rule, fixed before the report split is scored: the setting with the smallest worst gap to the retrained baseline
// over every (seed, width) on the selection split, ties broken by the mean gap. The report split then says whether that
// setting holds up. Baselines are one folder's retrained widths (BaselineRunDir), paired by seed with every setting;
// each setting's elastic run started from the same sorted model (same ranking text and seed), so pairing is fair.
using System.Globalization;
using Condense.Core;
using Condense.Core.Checkpoints;
using Condense.Core.Data;
using Condense.Core.Reports;
using Condense.Experiments.Statistics;
using Condense.Language;
using Condense.Language.Elastic;
using Condense.Language.Evaluation;

namespace Condense.Experiments.Language;

/// <summary>One elastic-training setting: a label and the run folder of `study flextron` that holds its runs.</summary>
public sealed record FlextronSetting(string Label, string RunDir);

/// <summary>One width of one setting (or of the retrained baseline), seed and split.</summary>
public sealed record FlextronHeldOutRow(string Setting, long Seed, string Split, double Width, double Perplexity, double RetrainedPerplexity)
{
    /// <summary>Relative PPL gap to the retrained width of the same seed and split (0.05 = 5% worse).</summary>
    public double Gap => Perplexity / RetrainedPerplexity - 1;
}

/// <summary>Everything the study measured, and the setting the rule picked.</summary>
public sealed record FlextronHeldOutResult(string Model, int Seeds, IReadOnlyList<double> Widths, double Tolerance,
    int SelectionDocuments, long SelectionTokens, int ReportDocuments, long ReportTokens,
    IReadOnlyList<string> Settings, IReadOnlyList<FlextronHeldOutRow> Rows, string Selected);

/// <summary>Settings of the study.</summary>
public sealed record FlextronHeldOutOptions
{
    /// <summary>The model the runs started from (llama2.c file or HF folder); names its folder in each run folder.</summary>
    public required string Model { get; init; }
    /// <summary>Settings to compare; a run folder with anchored runs contributes a second setting, "LABEL + anchor".</summary>
    public required IReadOnlyList<FlextronSetting> Settings { get; init; }
    /// <summary>Run folder whose retrained widths are the baseline (null: the first setting's).</summary>
    public string? BaselineRunDir { get; init; }
    /// <summary>Seeds (each run folder needs seed0 .. seed(Seeds-1)).</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>Uniform widths scored.</summary>
    public IReadOnlyList<double> Widths { get; init; } = [0.25, 0.5, 0.75, 1.0];
    /// <summary>Evaluation text.</summary>
    public required string EvalText { get; init; }
    /// <summary>The first N documents: the selection split.</summary>
    public int SelectionDocs { get; init; } = 1000;
    /// <summary>Documents after the selection split that form the report split (0: all the rest).</summary>
    public int ReportDocs { get; init; }
    /// <summary>Largest gap to the retrained width that counts as within target.</summary>
    public double Tolerance { get; init; } = 0.05;
}

/// <summary>Selection on one split of the evaluation text, report on another.</summary>
public static class FlextronHeldOutStudy
{
    /// <summary>Name of the split the settings are picked on.</summary>
    public const string Selection = "selection";
    /// <summary>Name of the split the pick is reported on.</summary>
    public const string Report = "report";

    /// <summary>Scores every setting, seed, width and split, and applies the selection rule.</summary>
    public static FlextronHeldOutResult Run(FlextronHeldOutOptions o, Action<string>? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Seeds < 1) throw InputException.ForOption("Seeds", $"{o.Seeds}: must be at least 1");
        if (o.Settings.Count == 0) throw InputException.ForOption("Settings", ": name at least one");
        if (o.SelectionDocs < 1) throw InputException.ForOption("SelectionDocs", $"{o.SelectionDocs}: must be at least 1");
        if (o.ReportDocs < 0) throw InputException.ForOption("ReportDocs", $"{o.ReportDocs}: must be 0 (all the rest) or more");
        if (!(o.Tolerance > 0)) throw InputException.ForOption("Tolerance", $"{o.Tolerance}: must be positive");
        foreach (var dup in o.Settings.GroupBy(s => s.Label).Where(g => g.Count() > 1))
            throw InputException.ForOption("Settings", $"'{dup.Key}': named twice");
        string name = LanguageModelFiles.ModelName(LanguageModelFiles.ResolveModel(o.Model));
        string SeedDir(string runDir, int seed) => Path.Combine(runDir, name, $"seed{seed}");

        // Every folder is checked before the first minute of scoring.
        var variants = new List<(string Label, Func<int, string> ElasticDir)>();
        foreach (var s in o.Settings)
        {
            variants.Add((s.Label, seed => Path.Combine(SeedDir(s.RunDir, seed), "elastic")));
            if (Directory.Exists(Path.Combine(SeedDir(s.RunDir, 0), "anchored", "elastic")))
                variants.Add(($"{s.Label} + anchor", seed => Path.Combine(SeedDir(s.RunDir, seed), "anchored", "elastic")));
        }
        string baseline = o.BaselineRunDir ?? o.Settings[0].RunDir;
        for (int seed = 0; seed < o.Seeds; seed++)
        {
            foreach (var (label, dir) in variants)
                if (!File.Exists(Path.Combine(dir(seed), ElasticJob.MetadataFile)))
                    throw InputException.ForOption("Settings", $"'{label}': {dir(seed)} is not a finished elastic run (run the flextron study into its run folder with {o.Seeds} seeds first)");
            foreach (var w in o.Widths)
                if (!File.Exists(RetrainedPath(SeedDir(baseline, seed), w)))
                    throw InputException.ForOption("BaselineRunDir", $"{RetrainedPath(SeedDir(baseline, seed), w)}: no retrained width {w:P0} (run the flextron study into {baseline} first)");
        }

        var documents = TextCorpus.ReadDocuments(o.EvalText);
        if (documents.Count <= o.SelectionDocs)
            throw InputException.ForOption("SelectionDocs", $"{o.SelectionDocs}: {o.EvalText} has only {documents.Count} documents, none left to report on");
        var selectionDocs = documents.Take(o.SelectionDocs).ToList();
        var reportDocs = documents.Skip(o.SelectionDocs).Take(o.ReportDocs > 0 ? o.ReportDocs : int.MaxValue).ToList();

        var rows = new List<FlextronHeldOutRow>();
        List<(string Name, (List<int[]> Sequences, int Truncated) Tokens)>? splits = null;   // every seed's sorted model shares the tokenizer
        for (int seed = 0; seed < o.Seeds; seed++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (sorted, tokenizer, _, _) = ElasticJob.Load(Path.Combine(SeedDir(baseline, seed), "sorted"));
            using (sorted.Model)
            {
                splits ??= [.. new[] { (Name: Selection, Docs: selectionDocs), (Name: Report, Docs: reportDocs) }
                    .Select(s => (s.Name, Perplexity.Tokenize(tokenizer, s.Docs, sorted.Config.MaxSeqLen)))];

                var retrained = new Dictionary<(string, double), double>();
                foreach (var w in o.Widths)
                {
                    log?.Invoke(FormattableString.Invariant($"[held-out] {name} seed {seed}: retrained width {w:P0}"));
                    using var sub = sorted.Extract(ElasticWidths.Uniform(sorted.Config, w, w));
                    sub.LoadSafetensors(RetrainedPath(SeedDir(baseline, seed), w));
                    var alone = new ElasticLlama(sub);
                    foreach (var (split, (sequences, truncated)) in splits)
                        retrained[(split, w)] = ElasticJob.Evaluate(alone, sequences, truncated, [1.0])[0].Perplexity;
                }
                foreach (var (label, dir) in variants)
                {
                    cancellation.ThrowIfCancellationRequested();
                    log?.Invoke($"[held-out] {name} seed {seed}: {label}");
                    var (elastic, _, _, _) = ElasticJob.Load(dir(seed));
                    using (elastic.Model)
                        foreach (var (split, (sequences, truncated)) in splits)
                            foreach (var r in ElasticJob.Evaluate(elastic, sequences, truncated, o.Widths))
                                rows.Add(new FlextronHeldOutRow(label, seed, split, r.MlpFraction, r.Perplexity, retrained[(split, r.MlpFraction)]));
                }
            }
        }
        static long Predicted(List<int[]> sequences) => sequences.Sum(t => (long)t.Length - 1);
        var labels = variants.Select(v => v.Label).ToList();
        return new FlextronHeldOutResult(name, o.Seeds, o.Widths, o.Tolerance, selectionDocs.Count, Predicted(splits![0].Tokens.Sequences),
            reportDocs.Count, Predicted(splits[1].Tokens.Sequences), labels, rows, Select(rows, labels));
    }

    private static string RetrainedPath(string seedDir, double width) =>
        Path.Combine(seedDir, "retrained", width.ToString("0.##", CultureInfo.InvariantCulture), "model.safetensors");

    /// <summary>The rule: smallest worst gap over (seed, width) on the selection split; ties broken by the mean gap, then by order.</summary>
    public static string Select(IReadOnlyList<FlextronHeldOutRow> rows, IReadOnlyList<string> settings) =>
        Ranked(rows, settings).FirstOrDefault() ?? throw new InvalidOperationException("no setting has selection-split rows");

    // Settings with selection-split rows, best first by the rule (a stable sort keeps the given order for full ties).
    private static List<string> Ranked(IReadOnlyList<FlextronHeldOutRow> rows, IReadOnlyList<string> settings)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(settings);
        return [.. settings
            .Select(s => (Setting: s, Gaps: rows.Where(r => r.Setting == s && r.Split == Selection).Select(r => r.Gap).ToList()))
            .Where(x => x.Gaps.Count > 0)
            .OrderBy(x => x.Gaps.Max()).ThenBy(x => x.Gaps.Average())
            .Select(x => x.Setting)];
    }

    /// <summary>All settings on both splits (ordered by the rule), then the picked setting on the report split, width by width.</summary>
    public static string ToMarkdown(FlextronHeldOutResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.Append(inv, $"**{result.Model}**, {result.Seeds} seed(s). Selection split: the first {result.SelectionDocuments:N0} documents ")
          .Append(inv, $"({result.SelectionTokens:N0} predicted tokens, the ones every table above used); report split: the next {result.ReportDocuments:N0} ")
          .Append(inv, $"({result.ReportTokens:N0} predicted tokens). Gap: Flextron's PPL over the separately retrained width's, same seed and split. ")
          .Append("Rule: the smallest worst gap over every (seed, width) on the selection split.\n\n");

        var widths = result.Widths;
        var headers = new List<string> { "setting", "worst gap, selection", "worst gap, report" };
        headers.AddRange(widths.Select(w => $"{w.ToString("P0", inv)}: mean gap, selection → report"));
        headers.Add($"every width and seed within {result.Tolerance.ToString("P0", inv)}, report");
        var table = new MarkdownTable([.. headers]);
        List<double> Gaps(string setting, string split, double? width = null) =>
            result.Rows.Where(r => r.Setting == setting && r.Split == split && (width is null || r.Width == width)).Select(r => r.Gap).ToList();
        foreach (var s in Ranked(result.Rows, result.Settings))
        {
            var cells = new List<string>
            {
                s == result.Selected ? $"**{s}** (picked)" : s,
                SignedFormat.Percent(Gaps(s, Selection).Max()), SignedFormat.Percent(Gaps(s, Report).Max()),
            };
            cells.AddRange(widths.Select(w => $"{SignedFormat.Percent(Gaps(s, Selection, w).Average())} → {SignedFormat.Percent(Gaps(s, Report, w).Average())}"));
            cells.Add(Gaps(s, Report).All(g => g <= result.Tolerance) ? "yes" : "no");
            table.AddRow([.. cells]);
        }
        sb.Append(table).Append('\n');

        sb.Append(inv, $"\nThe picked setting, **{result.Selected}**, on the report split:\n\n");
        var picked = new MarkdownTable("width", "retrained alone, PPL", "Flextron, PPL", "gap per seed", "gap per seed, selection split",
            $"within {result.Tolerance.ToString("P0", inv)}, report");
        foreach (var w in widths)
        {
            var report = result.Rows.Where(r => r.Setting == result.Selected && r.Split == Report && r.Width == w).OrderBy(r => r.Seed).ToList();
            var selection = result.Rows.Where(r => r.Setting == result.Selected && r.Split == Selection && r.Width == w).OrderBy(r => r.Seed).ToList();
            var within = report.Count(r => r.Gap <= result.Tolerance);
            picked.AddRow(w.ToString("P0", inv), SeedStatistics.Format(report.Select(r => r.RetrainedPerplexity)), SeedStatistics.Format(report.Select(r => r.Perplexity)),
                string.Join(", ", report.Select(r => SignedFormat.Percent(r.Gap))), string.Join(", ", selection.Select(r => SignedFormat.Percent(r.Gap))),
                within == report.Count ? "yes" : within == 0 ? "no" : $"{within} of {report.Count} seeds");
        }
        sb.Append(picked);
        return sb.ToString().TrimEnd('\n');
    }
}
