using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Reports;
using Condense.Core.Runtime;
using Condense.Experiments;
using Condense.Language;
using Condense.Language.DepthPruning;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense prune-depth</c>: block / attention / MLP importance (cosine, relative update norms, leave-one-out,
/// exact and Monte-Carlo Shapley, the reference code's subset contrast), pruning, recovery and evaluation.
/// </summary>
internal static class PruneDepthCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var model = LanguageOptions.Model();
        var metric = new Option<string>("--metric") { Description = $"Pruning order: {string.Join(", ", ImportanceMetric.All)}.", DefaultValueFactory = _ => ImportanceMetric.LossShapley };
        var remove = new Option<int>("--remove") { Description = "Units to remove.", DefaultValueFactory = _ => 1 };
        var units = new Option<string>("--units") { Description = "block, attention, mlp or sublayer (attention and MLP both).", DefaultValueFactory = _ => "sublayer" };
        var recovery = new Option<string>("--recovery") { Description = "none, mean-bias or adapter.", DefaultValueFactory = _ => "none" };
        recovery.AcceptOnlyFromAmong("none", "mean-bias", "adapter");
        var iterative = new Option<bool>("--iterative") { Description = "Re-measure the metric after every removal." };
        var output = new Option<string>("--out") { Description = "Output folder (model/, recovery.safetensors, plots, report.md).", DefaultValueFactory = _ => Path.Combine("runs", "prune-depth") };
        var calibration = new Option<string?>("--calibration") { Description = "Calibration text (default: shared TinyStories train_partA.txt)." };
        var samples = new Option<int>("--calibration-samples") { Description = "Calibration windows.", DefaultValueFactory = _ => 16 };
        var length = new Option<int>("--calibration-length") { Description = "Tokens per calibration window.", DefaultValueFactory = _ => 256 };
        var eval = new Option<string?>("--eval") { Description = "Evaluation text (default: shared TinyStories valid_first794KB.txt)." };
        var evalDocs = new Option<int>("--eval-docs") { Description = "Evaluate on the first N documents (0 = all).", DefaultValueFactory = _ => 0 };
        var selectionDocs = new Option<int>("--selection-docs") { Description = "Pick the best metric order per count on the N documents after the evaluation ones (needs --eval-docs).", DefaultValueFactory = _ => 0 };
        var tokenizer = LanguageOptions.Tokenizer();
        var permutations = new Option<int>("--permutations") { Description = "Monte-Carlo Shapley permutations (0 = skip).", DefaultValueFactory = _ => 32 };
        var fraction = new Option<double>("--subset-fraction") { Description = "Size of the contrast's random sub-networks (fraction of units).", DefaultValueFactory = _ => 0.5 };
        var perSample = new Option<int>("--subsets-per-sample") { Description = "Random sub-networks per calibration window.", DefaultValueFactory = _ => 10 };
        var rank = new Option<int>("--adapter-rank") { Description = "Rank of the linear adapter.", DefaultValueFactory = _ => 8 };
        var adapterSteps = new Option<int>("--adapter-steps") { Description = "Adam steps fitting each adapter.", DefaultValueFactory = _ => 300 };
        var curves = new Option<string>("--curves") { Description = "Metrics whose PPL curve is traced: all, none, or a comma list.", DefaultValueFactory = _ => "all" };
        var noSingle = new Option<bool>("--no-single-unit-recovery") { Description = "Skip the per-unit recovery table." };
        var generate = new Option<int>("--generate-steps") { Description = "Tokens generated for the KV-cache timing (0 = skip).", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed of the Monte-Carlo and subset draws and adapter init.", DefaultValueFactory = _ => 0 };
        var threads = LanguageOptions.Threads();
        var doc = new Option<string?>("--doc") { Description = "Write the command and, with --section, the run's tables (else the selected-order table, which needs --selection-docs) into this Markdown file, the JSON beside it." };
        var section = CommonOptions.Section();

        var cmd = new Command("prune-depth", "Depth pruning: unit importance incl. exact/Monte-Carlo Shapley, pruning, recovery, evaluation.")
        {
            model, metric, remove, units, recovery, iterative, output, calibration, samples, length, eval, evalDocs, tokenizer,
            permutations, fraction, perSample, rank, adapterSteps, curves, selectionDocs, noSingle, generate, seed, threads, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var cli = new CliOutput(pr.GetValue(json));
            var curveText = pr.GetValue(curves)!;
            var options = new DepthPruningOptions
            {
                ModelPath = LanguageModelFiles.ResolveModel(pr.GetValue(model)),
                OutputDir = pr.GetValue(output)!,
                Metric = pr.GetValue(metric)!,
                Remove = pr.GetValue(remove),
                Units = pr.GetValue(units)!,
                Recovery = pr.GetValue(recovery) switch { "mean-bias" => RecoveryKind.MeanBias, "adapter" => RecoveryKind.Adapter, _ => RecoveryKind.None },
                Iterative = pr.GetValue(iterative),
                CalibrationPath = pr.GetValue(calibration),
                CalibrationSamples = pr.GetValue(samples),
                CalibrationLength = pr.GetValue(length),
                EvalPath = pr.GetValue(eval),
                EvalDocuments = pr.GetValue(evalDocs),
                SelectionDocuments = pr.GetValue(selectionDocs),
                TokenizerPath = pr.GetValue(tokenizer),
                Importance = new ImportanceOptions(Permutations: pr.GetValue(permutations), SubsetFraction: pr.GetValue(fraction),
                    SubsetsPerSample: pr.GetValue(perSample), Seed: pr.GetValue(seed)),
                Adapter = new AdapterOptions(Rank: pr.GetValue(rank), Steps: pr.GetValue(adapterSteps), Seed: pr.GetValue(seed)),
                CurveMetrics = curveText switch
                {
                    "all" => null,
                    "none" => [],
                    _ => curveText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                },
                SingleUnitRecovery = !pr.GetValue(noSingle),
                GenerationSteps = pr.GetValue(generate),
            };
            if (pr.GetValue(rank) < 1) throw new InputException($"--adapter-rank must be at least 1, got {pr.GetValue(rank)}");
            var sectionName = pr.GetValue(section) is { } named ? CommonOptions.SectionName(named, fallback: named) : null;
            if (pr.GetValue(doc) is not null && sectionName is null && options.SelectionDocuments <= 0)
                throw new InputException("--doc without --section needs --selection-docs (the table it writes is the selected orders)");
            DepthPruningJob.Parse(options);                                   // bad options fail before libtorch loads
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var result = DepthPruningJob.Run(options, line => Console.Error.WriteLine($"[prune-depth] {line}"));
            cli.Result(result);
            if (!cli.Json) Render(cli.Human, result);
            if (pr.GetValue(doc) is string fullPath && sectionName is not null)
                GeneratedDoc.Write(fullPath, sectionName, DepthPruningReport.Tables(result), result, jsonName: sectionName);
            else if (pr.GetValue(doc) is string docPath)
            {
                var table = new MarkdownTable("removed", "order picked on the selection split", "selection PPL", "evaluation PPL",
                    "oracle on the evaluation split (biased)", "oracle PPL") { DoubleFormat = "G4" };
                foreach (var o in result.SelectedOrders)
                    table.AddRow(o.Removed, o.Metric, o.SelectionPerplexity, o.EvaluationPerplexity, o.OracleMetric, o.OraclePerplexity);
                var selectedSection = $"depth-selected-{options.Units}-{LanguageModelFiles.ModelName(options.ModelPath)}";
                var removed = result.RecoveryResults.FirstOrDefault(x => x.Recovery == "none")?.Perplexity;
                var markdown = $"{table}\nThe pruning decision ({options.Metric}{(options.Iterative ? ", iterative" : "")}) removes " +
                    $"{(result.Removed.Count > 0 ? string.Join(", ", result.Removed) : "nothing")}: evaluation PPL " +
                    $"{removed?.ToString("G4", CultureInfo.InvariantCulture) ?? "-"} (plain skip). Evaluation: {result.EvalDocuments} documents; " +
                    $"selection: the next {options.SelectionDocuments}.";
                GeneratedDoc.Write(docPath, selectedSection, markdown, result, jsonName: selectedSection);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static void Render(IAnsiConsole console, DepthPruningResult r)
    {
        // The main metrics only, so the table fits a terminal; report.md and --json have all of them.
        string[] shown = [ImportanceMetric.Cosine, ImportanceMetric.RelativeL2, ImportanceMetric.LeaveOneOut,
            ImportanceMetric.LossShapley, ImportanceMetric.McLossShapley, ImportanceMetric.ContrastLoss];
        var metrics = shown.Where(r.UnitMetrics[0].Importance.ContainsKey).ToList();
        var table = new Table().AddColumn("unit");
        foreach (var m in metrics) table.AddColumn(m);
        foreach (var u in r.UnitMetrics)
            table.AddRow([u.Unit, .. metrics.Select(m => u.Importance[m]?.ToString("G3", CultureInfo.InvariantCulture) ?? "-")]);
        console.Write(table);
        var ppl = string.Join(", ", r.RecoveryResults.Select(x =>
            string.Create(CultureInfo.InvariantCulture, $"{x.Perplexity:F3} ({x.Recovery})")));
        console.MarkupLine($"removed [bold]{Markup.Escape(r.Removed.Count > 0 ? string.Join(", ", r.Removed) : "nothing")}[/] by " +
            $"{Markup.Escape(r.Metric)}: PPL {Markup.Escape(ppl)}; saved with recovery {Markup.Escape(r.Recovery)}");
        console.MarkupLine($"checkpoint: {Markup.Escape(r.OutputDir)}; report: {Markup.Escape(r.Report)}");
    }
}
