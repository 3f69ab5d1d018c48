using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Experiments;
using Condense.Language;
using Condense.Language.Sparsity;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense sparsify</c>: 2:4 sparsity for a llama2.c model with one-shot methods (magnitude, Wanda, SparseGPT)
/// and MaskLLM's learnable masks; reports dense and sparse perplexity, tokens used and wall time, and exports each
/// sparse model (llama2.c .bin, safetensors and a packed mask file).
/// </summary>
internal static class SparsifyCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var progress = CommonOptions.Progress();
        var model = LanguageOptions.Model();
        var tokenizer = LanguageOptions.Tokenizer();
        var methods = new Option<string>("--method") { Description = "Comma-separated: magnitude, wanda, sparsegpt, sparsegpt-noupdate, maskllm, prior (the --prior mask as it is).", Required = true };
        var outDir = new Option<string>("--out") { Description = "Output folder (one subfolder per method, report.json).", Required = true };
        var calib = new Option<string?>("--calib-text") { Description = "Calibration (and default mask-training) text (default: ../shared/data/tinystories/train_partA.txt)." };
        var trainText = new Option<string?>("--train-text") { Description = "MaskLLM mask-training text (default: the calibration text)." };
        var evalText = new Option<string?>("--eval-text") { Description = "Perplexity text (default: ../shared/data/tinystories/valid_first794KB.txt)." };
        var samples = new Option<int>("--calib-samples") { Description = "Calibration windows.", DefaultValueFactory = _ => 128 };
        var calibLen = new Option<int>("--calib-seq-len") { Description = "Tokens per calibration window (at most the model's length).", DefaultValueFactory = _ => 256 };
        var evalDocs = new Option<int>("--eval-docs") { Description = "Evaluate on the first N documents (0: all)." };
        var prior = new Option<string>("--prior") { Description = "MaskLLM prior: a one-shot method or a *.mask24.safetensors file (transfer).", DefaultValueFactory = _ => "sparsegpt-noupdate" };
        var steps = new Option<long>("--steps") { Description = "MaskLLM steps.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "MaskLLM windows per step.", DefaultValueFactory = _ => 8 };
        var seqLen = new Option<int>("--seq-len") { Description = "MaskLLM tokens per window (at most the model's length).", DefaultValueFactory = _ => 256 };
        var lr = new Option<double>("--lr") { Description = "MaskLLM base learning rate (the gates use 10x).", DefaultValueFactory = _ => 5e-4 };
        var seed = new Option<long>("--seed") { Description = "Seed for calibration windows, gate init and Gumbel noise." };
        var checkpointEvery = new Option<long>("--checkpoint-every") { Description = "MaskLLM steps between checkpoints (0: only the final one); an interrupted run resumes from the last.", DefaultValueFactory = _ => 100 };
        var allowChange = CommonOptions.AllowConfigChange();
        var filter = new Option<string?>("--doc-filter") { Description = "Keep only documents matching this .NET regex in all texts (a domain subset)." };
        var threads = LanguageOptions.Threads();
        var doc = CommonOptions.Doc("the perplexity table");
        var section = CommonOptions.Section();
        var cmd = new Command("sparsify", "2:4 sparsity (magnitude, Wanda, SparseGPT, MaskLLM) with a perplexity report and sparse exports.")
        {
            model, tokenizer, methods, outDir, calib, trainText, evalText, samples, calibLen, evalDocs, prior, filter, steps, batch, seqLen, lr, seed, checkpointEvery, allowChange, threads, progress, doc, section, json,
        };
        cmd.SetAction((pr, cancellation) =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var methodList = pr.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (methodList.Length == 0) throw new InputException("--method is empty");
            foreach (var m in methodList) SparsifyRun.Parse(m);
            var modelPath = LanguageModelFiles.ResolveModel(pr.GetValue(model));
            var sectionName = CommonOptions.SectionName(pr.GetValue(section), "sparsify-" + LanguageModelFiles.ModelName(modelPath));
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var options = new SparsifyOptions
            {
                ModelPath = modelPath,
                TokenizerPath = pr.GetValue(tokenizer),
                OutDir = pr.GetValue(outDir)!,
                Methods = methodList,
                CalibrationText = Existing(LanguageModelFiles.Resolve(pr.GetValue(calib), LanguageModelFiles.DefaultCalibrationText)),
                TrainText = pr.GetValue(trainText) is { } t ? Existing(t) : null,
                EvalText = Existing(LanguageModelFiles.Resolve(pr.GetValue(evalText), LanguageModelFiles.DefaultEvalText)),
                CalibrationSamples = Positive(pr.GetValue(samples), "--calib-samples"),
                CalibrationSeqLen = Positive(pr.GetValue(calibLen), "--calib-seq-len"),
                EvalDocs = pr.GetValue(evalDocs),
                Prior = pr.GetValue(prior)!,
                DocumentFilter = ValidRegex(pr.GetValue(filter)),
                Seed = pr.GetValue(seed),
                Progress = pr.GetValue(progress),
                MaskLlm = new MaskLlmOptions
                {
                    RunDir = "",
                    Steps = Positive((int)Math.Min(int.MaxValue, pr.GetValue(steps)), "--steps"),
                    BatchSize = Positive(pr.GetValue(batch), "--batch-size"),
                    SeqLen = Positive(pr.GetValue(seqLen), "--seq-len"),
                    LearningRate = pr.GetValue(lr),
                    CheckpointEvery = pr.GetValue(checkpointEvery),
                    AllowConfigChange = pr.GetValue(allowChange),
                },
            };
            using var resumable = Interruption.Resumable();   // Ctrl+C / SIGTERM: checkpoint, then exit 1
            var report = SparsifyRun.Run(options, line => output.Human.MarkupLine(Markup.Escape(line)), cancellation);
            var raw = new
            {
                model = report.Model,
                dense_nll = report.DenseNll,
                dense_ppl = report.DensePpl,
                eval_tokens = report.EvalTokens,
                eval_documents = report.EvalDocuments,
                methods = report.Methods.ToDictionary(m => m.Method, m => (object)new
                {
                    nll = m.Nll,
                    ppl = m.Ppl,
                    ppl_gap = m.Ppl - report.DensePpl,
                    calibration_tokens = m.CalibrationTokens,
                    training_tokens = m.TrainingTokens,
                    wall_s = m.WallSeconds,
                    checkpoint = Path.GetFullPath(m.Checkpoint),
                    verified_2_4 = m.Verified,
                    detail = m.Detail,
                }),
                report = Path.GetFullPath(report.ReportPath),
            };
            output.Result(raw);
            if (pr.GetValue(doc) is string docPath)
            {
                var md = new Condense.Core.Reports.MarkdownTable("method", "PPL", "gap to dense", "calibration tokens", "training tokens", "wall s")
                    .AddRow("dense", report.DensePpl.ToString("F3", CultureInfo.InvariantCulture), "", "", "", "");
                foreach (var m in report.Methods)
                    md.AddRow(m.Method, m.Ppl.ToString("F3", CultureInfo.InvariantCulture), (m.Ppl - report.DensePpl).ToString("F3", CultureInfo.InvariantCulture),
                        m.CalibrationTokens.ToString("N0", CultureInfo.InvariantCulture), m.TrainingTokens.ToString("N0", CultureInfo.InvariantCulture),
                        m.WallSeconds.ToString("F0", CultureInfo.InvariantCulture));
                GeneratedDoc.Write(docPath, sectionName, string.Create(CultureInfo.InvariantCulture,
                    $"Perplexity on {report.EvalDocuments:N0} documents ({report.EvalTokens:N0} predicted tokens):\n\n{md}"), raw, jsonName: sectionName);
            }
            if (!output.Json)
            {
                var table = new Table().AddColumns("method", "PPL", "gap to dense", "calib tokens", "train tokens", "wall s");
                table.AddRow("dense", F(report.DensePpl), "", "", "", "");
                foreach (var m in report.Methods)
                    table.AddRow(m.Method, F(m.Ppl), F(m.Ppl - report.DensePpl), m.CalibrationTokens.ToString(CultureInfo.InvariantCulture),
                        m.TrainingTokens.ToString(CultureInfo.InvariantCulture), m.WallSeconds.ToString("F1", CultureInfo.InvariantCulture));
                output.Human.Write(table);
                output.Human.MarkupLine($"report: {Markup.Escape(Path.GetFullPath(report.ReportPath))}");
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return cmd;
    }

    private static string? ValidRegex(string? pattern)
    {
        if (pattern is null) return null;
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern);
            return pattern;
        }
        catch (ArgumentException e)
        {
            throw new InputException($"--doc-filter '{pattern}' is not a valid regex: {e.Message}");
        }
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new InputException($"{path}: file not found");

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new InputException($"{option} must be positive, got {value}");
}
