using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Data;
using Condense.Core.Reports;
using Condense.Core.Runtime;
using Condense.Core.Training;
using Condense.Experiments;
using Condense.Language;
using Condense.Language.Evaluation;
using Condense.Language.Native;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense eval-ppl</c>: perplexity of a LLaMA model on a text file, each document tokenized with BOS first and
/// cut to the model's sequence length (see Condense.Language.Evaluation.Perplexity).
/// </summary>
internal static class EvalPplCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = LanguageOptions.Threads();
        var model = LanguageOptions.Model();
        var tokenizer = LanguageOptions.Tokenizer();
        var text = new Option<string?>("--text") { Description = $"UTF-8 text; documents split on <|endoftext|> lines, else blank lines (default: ../shared/{LanguageModelFiles.DefaultEvalText})." };
        var maxDocs = new Option<int>("--max-docs") { Description = "Score only the first N documents (0 = all)." };
        var batchTokens = new Option<long>("--batch-tokens") { Description = "Most tokens per forward batch (0 = sized from the vocabulary)." };
        var progress = CommonOptions.Progress();
        var doc = CommonOptions.Doc("the perplexity table");
        var section = CommonOptions.Section();
        var engine = LanguageOptions.Engine("torch: it scores documents in batches");
        var cmd = new Command("eval-ppl", "Perplexity of a LLaMA model on a text: mean NLL per predicted token, PPL, token count.")
        {
            model, tokenizer, text, maxDocs, batchTokens, progress, doc, section, engine, json, threads,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            if (pr.GetValue(maxDocs) < 0) throw new InputException($"--max-docs must be >= 0, got {pr.GetValue(maxDocs)}");
            if (pr.GetValue(batchTokens) < 0) throw new InputException($"--batch-tokens must be >= 0, got {pr.GetValue(batchTokens)}");
            var sectionName = CommonOptions.SectionName(pr.GetValue(section), "eval-ppl");
            bool native = LanguageOptions.UseNative(pr.GetValue(engine)!, autoIsNative: false);
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var textPath = LanguageModelFiles.Resolve(pr.GetValue(text), LanguageModelFiles.DefaultEvalText);
            LanguageModelFiles.RequireFile(textPath, "text file");
            var (lm, tok, modelPath, tokPath) = LanguageModelFiles.Load(pr.GetValue(model), pr.GetValue(tokenizer));
            using var _ = lm;
            IEnumerable<string> docs = TextCorpus.ReadDocuments(textPath);
            if (pr.GetValue(maxDocs) > 0) docs = docs.Take(pr.GetValue(maxDocs));
            var (sequences, truncated) = Perplexity.Tokenize(tok, docs, lm.Config.MaxSeqLen);
            if (sequences.Count == 0) throw new InputException($"{textPath}: no documents with text to score");
            PerplexityResult? result = null;
            TrainingProgress.RunItems(pr.GetValue(progress), "eval-ppl", sequences.Count, report =>
                result = native
                    ? NativePerplexity.Evaluate(LanguageOptions.NativeEngine(lm), sequences, truncated, n => report(n))
                    : Perplexity.Evaluate(lm, sequences, truncated, pr.GetValue(batchTokens) > 0 ? pr.GetValue(batchTokens) : null, n => report(n)));
            var r = result!;
            var raw = new
            {
                model = Path.GetFullPath(modelPath),
                tokenizer = Path.GetFullPath(tokPath),
                text = Path.GetFullPath(textPath),
                documents = r.Documents,
                truncated_documents = r.TruncatedDocuments,
                seq_len = lm.Config.MaxSeqLen,
                tokens = r.Tokens,
                mean_nll = r.MeanNll,
                ppl = r.Perplexity,
                elapsed_s = r.Seconds,
                tokens_per_s = r.Tokens / Math.Max(r.Seconds, 1e-9),
                engine = native ? "native" : "torch",
                threads = TorchSharp.torch.get_num_threads(),
            };
            output.Result(raw);
            if (pr.GetValue(doc) is string docPath)
            {
                var table = new MarkdownTable("model", "seq len", "documents (truncated)", "predicted tokens", "mean NLL (nats)", "PPL")
                    .AddRow(Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(modelPath)), lm.Config.MaxSeqLen,
                        string.Create(CultureInfo.InvariantCulture, $"{r.Documents:N0} ({r.TruncatedDocuments:N0})"),
                        r.Tokens.ToString("N0", CultureInfo.InvariantCulture), r.MeanNll.ToString("F4", CultureInfo.InvariantCulture),
                        r.Perplexity.ToString("F3", CultureInfo.InvariantCulture));
                GeneratedDoc.Write(docPath, sectionName, $"Text: `{Path.GetFileName(textPath)}`.\n\n{table}", raw, jsonName: sectionName);
            }
            if (!output.Json)
                output.Human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"mean NLL {r.MeanNll:F4} nats, PPL {r.Perplexity:F3} over {r.Tokens} predicted tokens in {r.Documents} documents ({r.TruncatedDocuments} truncated to {lm.Config.MaxSeqLen}), {r.Seconds:F1} s"));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
