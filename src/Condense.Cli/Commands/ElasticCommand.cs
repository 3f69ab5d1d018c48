using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Experiments;
using Condense.Language;
using Condense.Language.Elastic;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense elastic</c>: Flextron's elastic LLaMA. <c>train</c> ranks and sorts a model's units and trains every
/// nested width at once; <c>eval</c> gives each width's perplexity; <c>export</c> writes one width as an ordinary model;
/// <c>latency</c> measures the per-layer latency table and checks it against real sub-networks.
/// </summary>
internal static class ElasticCommand
{
    public static Command Create()
    {
        var cmd = new Command("elastic", "Flextron elastic LLaMA: train every nested width at once, evaluate, export, measure latency.");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Eval());
        cmd.Subcommands.Add(Export());
        cmd.Subcommands.Add(Latency());
        cmd.Subcommands.Add(Routers());
        cmd.Subcommands.Add(Dynamic());
        return cmd;
    }

    /// <summary>The elastic-training flags `elastic train` and `study flextron` share, checked before any work.</summary>
    internal static void CheckTrainingFlags(double fullWeight, bool sandwich, int subnetworks)
    {
        if (!(fullWeight > 0) || !double.IsFinite(fullWeight))
            throw new Condense.Core.InputException($"--full-weight {fullWeight.ToString(CultureInfo.InvariantCulture)}: must be a positive number");
        if (sandwich && subnetworks < 1)
            throw new Condense.Core.InputException($"--sandwich needs --subnetworks 1 or more (got {subnetworks})");
    }

    private static Option<string> Fractions(string name, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => "0.25,0.5,0.75,1" };

    private static Option<string> QueryWidths() =>
        new("--query-widths")
        {
            Description = "Candidate query heads per KV head group, fractions of the group's query heads (1: whole groups only; 0.5,1 also keeps half of each group's query heads).",
            DefaultValueFactory = _ => "1",
        };

    /// <summary>--query-widths as candidates: null when it names whole groups only (the elastic.json of such runs stays as it was).</summary>
    internal static double[]? ParseQueryWidths(string text)
    {
        var fractions = ParseFractions(text, "--query-widths");
        return fractions.All(f => f == 1) ? null : fractions;
    }

    /// <summary>Comma-separated fractions in (0, 1], or a one-line error naming <paramref name="flag"/>.</summary>
    internal static double[] ParseFractions(string text, string flag)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new InputException($"{flag} is empty");
        return parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 0 && f <= 1
            ? f : throw new InputException($"{flag} '{p}': each width must be a number in (0, 1]")).ToArray();
    }

    private static Command Train()
    {
        var json = CommonOptions.Json();
        var progress = CommonOptions.Progress();
        var model = LanguageOptions.Model();
        var tokenizer = LanguageOptions.Tokenizer();
        var outDir = new Option<string>("--out") { Description = "Output folder: run/ (checkpoints, metrics), sorted/ (ranked, untrained), elastic/ (the result).", Required = true };
        var text = new Option<string?>("--text") { Description = "Calibration and training text (default: ../shared/data/tinystories/train_partA.txt)." };
        var steps = new Option<long>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Windows per step.", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int>("--seq-len") { Description = "Tokens per window (at most the model's length).", DefaultValueFactory = _ => 256 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (AdamW, warm-up, cosine to a tenth).", DefaultValueFactory = _ => 2e-4 };
        var subnetworks = new Option<int>("--subnetworks") { Description = "Random sub-networks per step besides the full model.", DefaultValueFactory = _ => 2 };
        var fullWeight = new Option<double>("--full-weight") { Description = "Weight of the full model's loss against each random sub-network's.", DefaultValueFactory = _ => 1.0 };
        var distill = new Option<double>("--distill-weight") { Description = "Weight of the sub-networks' logit distillation from the full model.", DefaultValueFactory = _ => 1.0 };
        var mlp = Fractions("--mlp-widths", "Candidate MLP widths, fractions of the hidden size.");
        var heads = Fractions("--head-widths", "Candidate attention widths, fractions of the KV head groups.");
        var queries = QueryWidths();
        var calibration = new Option<int>("--calib-samples") { Description = "Calibration windows for the importance ranking.", DefaultValueFactory = _ => 64 };
        var seed = new Option<long>("--seed") { Description = "Seed of calibration windows, batches and sub-network draws." };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "Steps between checkpoints (0: only the final one); an interrupted run resumes from the last.", DefaultValueFactory = _ => 100 };
        var noResume = new Option<bool>("--no-resume") { Description = "Start over instead of resuming from the newest checkpoint." };
        var sandwich = new Option<bool>("--sandwich") { Description = "Sandwich rule: the first sub-network of every step is the narrowest one (needs --subnetworks 1 or more)." };
        var sameWidth = new Option<bool>("--same-width") { Description = "Each random sub-network takes one MLP width and one head-group count in every layer, not a draw per layer." };
        var anchor = new Option<bool>("--anchor") { Description = "Also distil the full width from the original (frozen) model, as the separately retrained baselines are." };
        var allowChange = CommonOptions.AllowConfigChange();
        var threads = LanguageOptions.Threads();
        var cmd = new Command("train", "Rank and sort the model's units on calibration text, then train all nested widths at once (Flextron).")
        {
            model, tokenizer, outDir, text, steps, batch, seqLen, lr, subnetworks, fullWeight, sandwich, sameWidth, distill, mlp, heads, queries, calibration, seed, checkpointEvery, noResume, anchor, allowChange,
            threads, progress, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var candidates = new ElasticCandidates(ParseFractions(pr.GetValue(mlp)!, "--mlp-widths"), ParseFractions(pr.GetValue(heads)!, "--head-widths"), ParseQueryWidths(pr.GetValue(queries)!));
            CheckTrainingFlags(pr.GetValue(fullWeight), pr.GetValue(sandwich), pr.GetValue(subnetworks));
            var textPath = LanguageModelFiles.Resolve(pr.GetValue(text), LanguageModelFiles.DefaultCalibrationText);
            LanguageModelFiles.RequireFile(textPath, "text");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var options = new ElasticJobOptions
            {
                ModelPath = LanguageModelFiles.ResolveModel(pr.GetValue(model)),
                TokenizerPath = pr.GetValue(tokenizer),
                OutDir = pr.GetValue(outDir)!,
                TrainText = textPath,
                CalibrationWindows = pr.GetValue(calibration),
                AnchorToOriginal = pr.GetValue(anchor),
                Training = new ElasticTrainingOptions
                {
                    RunDir = "",
                    Steps = pr.GetValue(steps),
                    BatchSize = pr.GetValue(batch),
                    SeqLen = pr.GetValue(seqLen),
                    LearningRate = pr.GetValue(lr),
                    RandomSubnetworks = pr.GetValue(subnetworks),
                    Sandwich = pr.GetValue(sandwich),
                    SameWidthEveryLayer = pr.GetValue(sameWidth),
                    FullWeight = pr.GetValue(fullWeight),
                    DistillWeight = pr.GetValue(distill),
                    Candidates = candidates,
                    Seed = pr.GetValue(seed),
                    CheckpointEvery = pr.GetValue(checkpointEvery),
                    Resume = !pr.GetValue(noResume),
                    Progress = pr.GetValue(progress),
                    AllowConfigChange = pr.GetValue(allowChange),
                },
            };
            using var resumable = Interruption.Resumable();   // Ctrl+C / SIGTERM: checkpoint, then exit 1
            var report = ElasticJob.Train(options, line => output.Human.MarkupLine(Markup.Escape(line)), cancellation);
            output.Result(new
            {
                elastic = Path.GetFullPath(report.ElasticDir),
                sorted = Path.GetFullPath(report.SortedDir),
                steps = report.Training.Steps,
                training_tokens = report.Training.TokensSeen,
                final_full_loss = report.Training.FinalFullLoss,
                final_subnetwork_loss = report.Training.FinalSubnetworkLoss,
                resumed_from_step = report.Training.ResumedFromStep,
                seconds = report.Training.ElapsedSeconds,
                layers_reordered = report.LayersReordered,
            });
            if (!output.Json)
                output.Human.MarkupLine(Markup.Escape(FormattableString.Invariant(
                    $"elastic model: {report.ElasticDir} ({report.Training.TokensSeen:N0} training tokens; final LM loss full {report.Training.FinalFullLoss:F3}, sub-networks {report.Training.FinalSubnetworkLoss:F3})")));
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    private static Command Eval()
    {
        var json = CommonOptions.Json();
        var model = new Option<string>("--model") { Description = "An elastic model folder (elastic/ or sorted/ of `elastic train`).", Required = true };
        var tokenizer = LanguageOptions.Tokenizer();
        var text = new Option<string?>("--text") { Description = "Perplexity text, as eval-ppl reads it (default: ../shared/data/tinystories/valid_first794KB.txt)." };
        var evalDocs = new Option<int>("--max-docs") { Description = "Score only the first N documents (0 = all), as eval-ppl." };
        var widths = Fractions("--widths", "Uniform widths to evaluate (fraction of MLP neurons and of head groups).");
        var budgets = new Option<string?>("--budgets") { Description = "Latency budgets (fractions of the full model's) for a routed model: each routed sub-network's PPL and measured latency against its target." };
        var decode = new Option<bool>("--decode") { Description = "With --budgets: measure decode latency (one token against a KV cache) instead of prefill." };
        var threads = LanguageOptions.Threads();
        var doc = CommonOptions.Doc("the perplexity table");
        var section = CommonOptions.Section();
        var cmd = new Command("eval", "Perplexity of an elastic model at each width, or of a routed model at each latency budget.")
        {
            model, tokenizer, text, evalDocs, widths, budgets, decode, threads, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var fractions = ParseFractions(pr.GetValue(widths)!, "--widths");
            var evalPath = LanguageModelFiles.Resolve(pr.GetValue(text), LanguageModelFiles.DefaultEvalText);
            LanguageModelFiles.RequireFile(evalPath, "eval text");
            var sectionName = CommonOptions.SectionName(pr.GetValue(section), "elastic-eval");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var (elastic, tok, _, metadata) = ElasticJob.Load(pr.GetValue(model)!, pr.GetValue(tokenizer));
            using var _ = elastic.Model;
            if (pr.GetValue(budgets) is string budgetText)
            {
                var (routers, lut) = ElasticJob.LoadRouters(pr.GetValue(model)!, elastic.Config, metadata.Candidates);
                using var __ = routers;
                var routedRows = ElasticJob.EvaluateRouted(elastic, routers, lut, metadata.Candidates, tok, evalPath, ParseFractions(budgetText, "--budgets"),
                    pr.GetValue(decode), new LatencyOptions { PrefillTokens = lut.PrefillTokens, DecodeContext = lut.DecodeContext, Engine = lut.Engine, NativeThreads = lut.Threads },
                    pr.GetValue(evalDocs), line => output.Human.MarkupLine(Markup.Escape(line)));
                var routedRaw = new { model = Path.GetFullPath(pr.GetValue(model)!), text = evalPath, mode = pr.GetValue(decode) ? "decode" : "prefill", machine = MachineInfo.Describe(), rows = routedRows };
                output.Result(routedRaw);
                var routedTable = new Condense.Core.Reports.MarkdownTable("budget", "routed sub-network (MLP neurons, KV groups)", "parameters", "PPL",
                    "LUT ms", "measured ms", "target ms", "measured vs target");
                foreach (var r in routedRows)
                    routedTable.AddRow(r.Budget.ToString("P0", CultureInfo.InvariantCulture), r.Widths, r.Parameters.ToString("N0", CultureInfo.InvariantCulture),
                        F(r.Perplexity), F(r.PredictedMs), F(r.MeasuredMs), F(r.TargetMs), P(r.TargetError));
                if (pr.GetValue(doc) is string routedDoc)
                    GeneratedDoc.Write(routedDoc, sectionName, string.Create(CultureInfo.InvariantCulture,
                        $"Routed model; text `{Path.GetFileName(evalPath)}`; {(pr.GetValue(decode) ? "decode" : "prefill")} latency of the {lut.Engine.ToString().ToLowerInvariant()} engine ({lut.Threads} thread(s)) on {MachineInfo.Describe()}; targets are budget × the full model's latency measured in the same rounds.\n\n{routedTable}"),
                        routedRaw, jsonName: sectionName);
                if (!output.Json) output.Human.WriteLine(routedTable.ToString());
                return ExitCodes.Ok;
            }
            var rows = ElasticJob.Evaluate(elastic, tok, evalPath, fractions, pr.GetValue(evalDocs), line => output.Human.MarkupLine(Markup.Escape(line)));
            var raw = new { model = Path.GetFullPath(pr.GetValue(model)!), training_tokens = metadata.TrainingTokens, text = evalPath, rows };
            output.Result(raw);
            var table = new Condense.Core.Reports.MarkdownTable("width", "layers (MLP neurons, KV groups)", "parameters", "PPL");
            foreach (var r in rows)
                table.AddRow(r.MlpFraction.ToString("P0", CultureInfo.InvariantCulture), r.Widths, r.Parameters.ToString("N0", CultureInfo.InvariantCulture),
                    r.Perplexity.ToString("F3", CultureInfo.InvariantCulture));
            if (pr.GetValue(doc) is string docPath)
                GeneratedDoc.Write(docPath, sectionName, string.Create(CultureInfo.InvariantCulture,
                    $"Elastic model trained on {metadata.TrainingTokens:N0} tokens; text `{Path.GetFileName(evalPath)}`.\n\n{table}"), raw, jsonName: sectionName);
            if (!output.Json) output.Human.WriteLine(table.ToString());
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Export()
    {
        var json = CommonOptions.Json();
        var model = new Option<string>("--model") { Description = "An elastic model folder (elastic/ of `elastic train`).", Required = true };
        var width = new Option<double?>("--width") { Description = "Uniform width in (0, 1]: the fraction of MLP neurons and of head groups kept in every layer." };
        var budget = new Option<double?>("--budget") { Description = "Latency budget in (0, 1] of a routed model: the sub-network its routers pick." };
        var outDir = new Option<string>("--out") { Description = "Output folder: hf/ (Hugging Face folder with per-layer widths) and model.bin (llama2.c, narrow layers zero-padded).", Required = true };
        var cmd = new Command("export", "Write one sub-network of an elastic model (a width, or a routed budget) as an ordinary LLaMA (Hugging Face folder and llama2.c file).")
        {
            model, width, budget, outDir, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(width) is null == pr.GetValue(budget) is null) throw new InputException("give one of --width or --budget");
            double f = pr.GetValue(width) ?? pr.GetValue(budget)!.Value;
            string flag = pr.GetValue(width) is null ? "--budget" : "--width";
            if (!(f > 0 && f <= 1)) throw new InputException($"{flag} {f.ToString(CultureInfo.InvariantCulture)}: must be in (0, 1]");
            TorchRuntime.EnsureLoaded();
            var (elastic, _, tokPath, metadata) = ElasticJob.Load(pr.GetValue(model)!);
            using var _ = elastic.Model;
            ElasticWidths widths;
            if (pr.GetValue(budget) is double b)
            {
                var (routers, _) = ElasticJob.LoadRouters(pr.GetValue(model)!, elastic.Config, metadata.Candidates);
                using (routers)
                    widths = routers.Route(b, metadata.Candidates.AttentionUnits(elastic.Config), metadata.Candidates.MlpUnits(elastic.Config));
            }
            else widths = ElasticWidths.Uniform(elastic.Config, f, f);
            var (hf, bin) = ElasticJob.Export(elastic, tokPath, widths, pr.GetValue(outDir)!);
            output.Result(new { hf = Path.GetFullPath(hf), llama2c = Path.GetFullPath(bin), widths = widths.ToString() });
            if (!output.Json) output.Human.MarkupLine(Markup.Escape($"{widths}: {hf} and {bin}"));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Latency()
    {
        var json = CommonOptions.Json();
        var model = LanguageOptions.Model();
        var outPath = new Option<string>("--out") { Description = "Where the latency table (JSON) goes.", Required = true };
        var mlp = Fractions("--mlp-widths", "Candidate MLP widths, fractions of the hidden size.");
        var heads = Fractions("--head-widths", "Candidate attention widths, fractions of the KV head groups.");
        var queries = QueryWidths();
        var prefill = new Option<int>("--prefill-tokens") { Description = "Prompt tokens of a prefill call.", DefaultValueFactory = _ => 128 };
        var context = new Option<int>("--decode-context") { Description = "Cached positions a decode call attends to.", DefaultValueFactory = _ => 128 };
        var repeats = new Option<int>("--repeats") { Description = "Timed decode calls per item and round.", DefaultValueFactory = _ => 10 };
        var prefillRepeats = new Option<int>("--prefill-repeats") { Description = "Timed prefill calls per item and round.", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds over all items (each in a shuffled order, each relative to the full model's time in it).", DefaultValueFactory = _ => 15 };
        var check = new Option<int>("--check") { Description = "Random sub-networks whose measured latency is compared with the table (0: none).", DefaultValueFactory = _ => 8 };
        var seed = new Option<long>("--seed") { Description = "Seed of the order and of the checked sub-networks." };
        var threads = LanguageOptions.Threads();
        var doc = CommonOptions.Doc("the table's check against measured latency");
        var section = CommonOptions.Section();
        var engine = LanguageOptions.Engine("native, what generate runs");
        var cmd = new Command("latency", "Measure the per-layer latency table (prefill and decode per candidate width) and check its predictions.")
        {
            model, outPath, mlp, heads, queries, prefill, context, repeats, prefillRepeats, rounds, check, seed, engine, threads, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var candidates = new ElasticCandidates(ParseFractions(pr.GetValue(mlp)!, "--mlp-widths"), ParseFractions(pr.GetValue(heads)!, "--head-widths"), ParseQueryWidths(pr.GetValue(queries)!));
            if (pr.GetValue(check) < 0) throw new InputException($"--check {pr.GetValue(check)}: must be at least 0");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var (lm, _, modelPath, _) = LanguageModelFiles.Load(pr.GetValue(model), null);
            using var _ = lm;
            var options = new LatencyOptions
            {
                PrefillTokens = pr.GetValue(prefill), DecodeContext = pr.GetValue(context), Repeats = pr.GetValue(repeats), PrefillRepeats = pr.GetValue(prefillRepeats), Rounds = pr.GetValue(rounds),
                Seed = pr.GetValue(seed),
                Engine = LanguageOptions.UseNative(pr.GetValue(engine)!, autoIsNative: true) ? LatencyEngine.Native : LatencyEngine.Torch,
                NativeThreads = Math.Max(1, TorchSharp.torch.get_num_threads()),
            };
            void Log(string line) => output.Human.MarkupLine(Markup.Escape(line));
            var table = LatencyTable.Measure(lm.Config, candidates, options, Log);
            table.Save(pr.GetValue(outPath)!);
            var sampled = Enumerable.Range(0, pr.GetValue(check)).Select(i => candidates.Sample(lm.Config, pr.GetValue(seed), -1, i))
                .Prepend(ElasticWidths.Full(lm.Config)).ToList();
            var checks = pr.GetValue(check) > 0 ? LatencyValidation.Check(new ElasticLlama(lm), table, sampled, options, Log, reference: 0) : [];
            var result = new
            {
                model = modelPath, table = Path.GetFullPath(pr.GetValue(outPath)!), lut = table, checks,
                mean_abs_prefill_error = checks.Count > 0 ? checks.Average(c => Math.Abs(c.PrefillError)) : double.NaN,
                mean_abs_decode_error = checks.Count > 0 ? checks.Average(c => Math.Abs(c.DecodeError)) : double.NaN,
                mean_abs_prefill_fraction_error = MeanAbs(checks.Select(c => FractionError(c, checks[0], decode: false))),
                mean_abs_decode_fraction_error = MeanAbs(checks.Select(c => FractionError(c, checks[0], decode: true))),
            };
            output.Result(result);
            if (pr.GetValue(doc) is string docPath)
            {
                var md = new Condense.Core.Reports.MarkdownTable("sub-network", "prefill ms: table", "measured", "error", "decode ms: table", "measured", "error",
                    "decode, of full: table", "measured");
                foreach (var c in checks)
                    md.AddRow(c.Widths, F(c.PredictedPrefillMs), F(c.MeasuredPrefillMs), P(c.PrefillError), F(c.PredictedDecodeMs), F(c.MeasuredDecodeMs), P(c.DecodeError),
                        (c.PredictedDecodeMs / checks[0].PredictedDecodeMs).ToString("P1", CultureInfo.InvariantCulture),
                        (c.MeasuredDecodeMs / checks[0].MeasuredDecodeMs).ToString("P1", CultureInfo.InvariantCulture));
                GeneratedDoc.Write(docPath, CommonOptions.SectionName(pr.GetValue(section), "elastic-latency"),
                    $"Machine: {MachineInfo.Describe()}; engine {table.Engine.ToString().ToLowerInvariant()}, {table.Threads} thread(s). " +
                    $"Mean absolute error of the table's milliseconds: prefill {A(result.mean_abs_prefill_error)}, decode {A(result.mean_abs_decode_error)}; " +
                    $"of its fraction of the full model's latency (the first row, timed in the same rounds): prefill {A(result.mean_abs_prefill_fraction_error)}, " +
                    $"decode {A(result.mean_abs_decode_fraction_error)}.\n\n" + md,
                    result, jsonName: CommonOptions.SectionName(pr.GetValue(section), "elastic-latency"));
            }
            if (!output.Json)
            {
                var t = new Table().AddColumns("sub-network", "prefill ms: LUT", "measured", "error", "decode ms: LUT", "measured", "error");
                foreach (var c in checks)
                    t.AddRow(Markup.Escape(c.Widths), F(c.PredictedPrefillMs), F(c.MeasuredPrefillMs), P(c.PrefillError), F(c.PredictedDecodeMs), F(c.MeasuredDecodeMs), P(c.DecodeError));
                output.Human.Write(t);
                output.Human.MarkupLine(Markup.Escape($"latency table: {Path.GetFullPath(pr.GetValue(outPath)!)}"));
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // The error of the table's prediction of a sub-network's fraction of the full model's latency, against the fraction
    // measured in the same rounds (what a budget is: a fraction of the full model's measured latency).
    private static double FractionError(LatencyCheck c, LatencyCheck full, bool decode) => decode
        ? c.PredictedDecodeMs / full.PredictedDecodeMs / (c.MeasuredDecodeMs / full.MeasuredDecodeMs) - 1
        : c.PredictedPrefillMs / full.PredictedPrefillMs / (c.MeasuredPrefillMs / full.MeasuredPrefillMs) - 1;

    private static double MeanAbs(IEnumerable<double> values)
    {
        var list = values.ToList();
        return list.Count > 0 ? list.Average(Math.Abs) : double.NaN;
    }

    private static Command Routers()
    {
        var json = CommonOptions.Json();
        var model = new Option<string>("--model") { Description = "An elastic model folder (elastic/ of `elastic train`).", Required = true };
        var latency = new Option<string>("--latency") { Description = "The latency table (`elastic latency --out`), measured on the machine the model will serve on.", Required = true };
        var outDir = new Option<string>("--out") { Description = "Output folder: the routed model (weights, routers.safetensors, a copy of the table).", Required = true };
        var text = new Option<string?>("--text") { Description = "Training text (default: ../shared/data/tinystories/train_partA.txt)." };
        var surrogateSteps = new Option<int>("--surrogate-steps") { Description = "Steps fitting the loss surrogate first.", DefaultValueFactory = _ => 150 };
        var routerSteps = new Option<int>("--router-steps") { Description = "Steps training the routers through the surrogate.", DefaultValueFactory = _ => 1000 };
        var jointSteps = new Option<int>("--joint-steps") { Description = "Steps fine-tuning model and routers together.", DefaultValueFactory = _ => 100 };
        var minBudget = new Option<double>("--min-budget") { Description = "Smallest latency budget trained.", DefaultValueFactory = _ => 0.25 };
        var fullShare = new Option<double>("--full-budget-share") { Description = "Share of trained budgets set to exactly 1 (the full model); the rest are uniform from --min-budget to 1." };
        var weight = new Option<double>("--latency-weight") { Description = "Weight of the latency loss.", DefaultValueFactory = _ => 20 };
        var threshold = new Option<double>("--surrogate-threshold") { Description = "Largest relative error of the surrogate at which routers are updated.", DefaultValueFactory = _ => 0.10 };
        var soft = new Option<bool>("--soft-samples") { Description = "Train the routers on soft Gumbel mixtures instead of straight-through hard samples (ablation)." };
        var absolute = new Option<bool>("--absolute-latency-loss") { Description = "Latency loss |relative error| instead of its square." };
        var ofTarget = new Option<bool>("--latency-of-target") { Description = "Latency error relative to the budget's target latency instead of the full model's (a stronger pull at small budgets)." };
        var decode = new Option<bool>("--decode") { Description = "Route for decode latency instead of prefill." };
        var seed = new Option<long>("--seed") { Description = "Seed of budgets, windows, draws and router initialisation." };
        var threads = LanguageOptions.Threads();
        var cmd = new Command("routers", "Train static routers (budget to widths) against a measured latency table, then fine-tune model and routers together (Flextron).")
        {
            model, latency, outDir, text, surrogateSteps, routerSteps, jointSteps, minBudget, fullShare, weight, threshold, soft, absolute, ofTarget, decode, seed, threads, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (!(pr.GetValue(fullShare) is >= 0 and < 1))
                throw new InputException(FormattableString.Invariant($"--full-budget-share {pr.GetValue(fullShare)}: must be at least 0 and below 1"));
            var textPath = LanguageModelFiles.Resolve(pr.GetValue(text), LanguageModelFiles.DefaultCalibrationText);
            LanguageModelFiles.RequireFile(textPath, "text");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var options = new RouterTrainingOptions
            {
                SurrogateSteps = pr.GetValue(surrogateSteps), RouterSteps = pr.GetValue(routerSteps), JointSteps = pr.GetValue(jointSteps),
                MinBudget = pr.GetValue(minBudget), FullBudgetShare = pr.GetValue(fullShare), LatencyWeight = pr.GetValue(weight), SurrogateThreshold = pr.GetValue(threshold),
                DecodeLatency = pr.GetValue(decode), Seed = pr.GetValue(seed), SoftSamples = pr.GetValue(soft), AbsoluteLatencyLoss = pr.GetValue(absolute), LatencyOfTarget = pr.GetValue(ofTarget),
            };
            var result = ElasticJob.TrainRouters(pr.GetValue(model)!, pr.GetValue(latency)!, pr.GetValue(outDir)!, textPath, options,
                line => output.Human.MarkupLine(Markup.Escape(line)));
            output.Result(new { routed = Path.GetFullPath(pr.GetValue(outDir)!), result });
            if (!output.Json)
                output.Human.MarkupLine(Markup.Escape(FormattableString.Invariant(
                    $"routed model: {pr.GetValue(outDir)} (surrogate error {result.SurrogateError:P1}; {result.RouterUpdates} router updates, {result.RouterSkips} skipped)")));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Dynamic()
    {
        var json = CommonOptions.Json();
        var model = new Option<string>("--model") { Description = "An elastic model folder (elastic/ of `elastic train`).", Required = true };
        var outPath = new Option<string>("--out") { Description = "The per-token routers (safetensors); an existing file is evaluated, not retrained.", Required = true };
        var budgets = new Option<string>("--budgets") { Description = "Budgets (fractions of the MLP neurons kept per token on average).", DefaultValueFactory = _ => "0.5,0.75" };
        var steps = new Option<int>("--steps") { Description = "Router training steps.", DefaultValueFactory = _ => 300 };
        var weight = new Option<double>("--latency-weight") { Description = "Weight of the budget loss.", DefaultValueFactory = _ => 100 };
        var evalDocs = new Option<int>("--max-docs") { Description = "Evaluation documents (0 = all).", DefaultValueFactory = _ => 200 };
        var prefill = new Option<int>("--prefill-tokens") { Description = "Prompt tokens of the timed prefill.", DefaultValueFactory = _ => 256 };
        var context = new Option<int>("--decode-context") { Description = $"Cached positions before the first of the {DynamicRouting.TimedDecodeTokens} timed decode tokens.", DefaultValueFactory = _ => 128 };
        var rounds = new Option<int>("--rounds") { Description = "Timing rounds (each times every variant, in a shuffled order).", DefaultValueFactory = _ => 15 };
        var seed = new Option<long>("--seed") { Description = "Seed of budgets, windows, noise and router initialisation." };
        var threads = LanguageOptions.Threads();
        var doc = CommonOptions.Doc("the table");
        var section = CommonOptions.Section();
        var cmd = new Command("dynamic", "Per-token MLP routers (Flextron's dynamic routing): PPL, and prefill and decode latency on the native engine, against the static sub-network of equal mean width and against masking.")
        {
            model, outPath, budgets, steps, weight, evalDocs, prefill, context, rounds, seed, threads, doc, section, json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var budgetList = ParseFractions(pr.GetValue(budgets)!, "--budgets");
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var rows = ElasticJob.Dynamic(pr.GetValue(model)!, pr.GetValue(outPath)!,
                LanguageModelFiles.Resolve(null, LanguageModelFiles.DefaultCalibrationText), LanguageModelFiles.Resolve(null, LanguageModelFiles.DefaultEvalText),
                budgetList, new DynamicRoutingOptions { Steps = pr.GetValue(steps), LatencyWeight = pr.GetValue(weight), Seed = pr.GetValue(seed) },
                pr.GetValue(evalDocs), new LatencyOptions { PrefillTokens = pr.GetValue(prefill), DecodeContext = pr.GetValue(context), Rounds = pr.GetValue(rounds), Warmup = 3 },
                line => output.Human.MarkupLine(Markup.Escape(line)));
            output.Result(new { machine = MachineInfo.Describe(), rows });
            var (quality, latency) = DynamicTables(rows);
            if (pr.GetValue(doc) is string docPath)
            {
                var name = CommonOptions.SectionName(pr.GetValue(section), "elastic-dynamic");
                GeneratedDoc.Write(docPath, name, $"Machine: {MachineInfo.Describe()}; native engine, {rows[0].Threads} thread(s); latency relative to the static sub-network in the same rounds; "
                    + $"decode ms per token, over {DynamicRouting.TimedDecodeTokens} tokens of the evaluation text after {pr.GetValue(context)} cached positions.\n\n"
                    + quality + "\n" + latency, new { machine = MachineInfo.Describe(), rows }, jsonName: name);
            }
            if (!output.Json) output.Human.WriteLine(quality + "\n" + latency);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // Per budget: what the routers keep and the perplexities; then the native latency of each way to run it.
    private static (Condense.Core.Reports.MarkdownTable Quality, Condense.Core.Reports.MarkdownTable Latency) DynamicTables(IReadOnlyList<DynamicEvalRow> rows)
    {
        var quality = new Condense.Core.Reports.MarkdownTable("budget", "MLP kept", "MLP kept, timed decode tokens", "PPL routed", "PPL routed, native engine", "PPL static, same mean width");
        var latency = new Condense.Core.Reports.MarkdownTable("budget", "how the MLPs run", "prefill ms", "decode ms", "prefill, of static", "decode, of static");
        foreach (var r in rows)
        {
            var budget = r.Budget.ToString("P0", CultureInfo.InvariantCulture);
            quality.AddRow(budget, r.MlpFraction.ToString("P0", CultureInfo.InvariantCulture), r.DecodeMlpFraction.ToString("P0", CultureInfo.InvariantCulture), F(r.RoutedPerplexity), F(r.NativeRoutedPerplexity), F(r.StaticPerplexity));
            foreach (var (name, e) in new[] { ("per token, grouped by width", r.Grouped), ("per token, masked", r.Masked), ("static, same mean width", r.Static), ("full model", r.Full) })
                latency.AddRow(budget, name, F(e.PrefillMs), e.DecodeMs.ToString("F4", CultureInfo.InvariantCulture),
                    (e.PrefillMs / r.Static.PrefillMs).ToString("P1", CultureInfo.InvariantCulture), (e.DecodeMs / r.Static.DecodeMs).ToString("P1", CultureInfo.InvariantCulture));
        }
        return (quality, latency);
    }

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
    private static string P(double v) => Condense.Experiments.Statistics.SignedFormat.Percent(v);
    private static string A(double v) => v.ToString("0.0%", CultureInfo.InvariantCulture);
}
