// Does a Condense model exported as GGUF behave in llama.cpp as it does in Condense? For each model and dtype: the file
// size, greedy decoding of fixed prompts compared token for token with Condense's own (f32) generation, and the
// perplexity llama.cpp computes on held-out documents against Condense's f32 perplexity on the same token ids;
// per model, whether llama.cpp's tokenizer splits the documents into the same ids as Condense's.
using System.Globalization;
using System.Text;
using Condense.Language;
using Condense.Language.Evaluation;
using Condense.Language.Export;
using Condense.Language.Generation;
using static TorchSharp.torch;

namespace Condense.Experiments.Deployment;

/// <summary>How the study runs.</summary>
public sealed record GgufExportStudyOptions
{
    /// <summary>Models as (name, llama2.c file or Hugging Face folder).</summary>
    public required IReadOnlyList<(string Name, string Path)> Models { get; init; }

    /// <summary>Encodings to export.</summary>
    public IReadOnlyList<GgufDtype> Dtypes { get; init; } = [GgufDtype.F32, GgufDtype.F16, GgufDtype.Q8_0];

    /// <summary>Where the GGUF files go.</summary>
    public required string OutputDir { get; init; }

    /// <summary>Text whose first documents are scored and tokenized.</summary>
    public required string EvalText { get; init; }

    /// <summary>Documents scored.</summary>
    public int Documents { get; init; } = 200;

    /// <summary>Greedy prompts.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = ["Once upon a time", "The dog", "Lily and Ben went to the park.", "One day, a little", "\"Can I play?\" asked"];

    /// <summary>Positions generated per prompt (counting BOS and the prompt).</summary>
    public int Steps { get; init; } = 200;

    /// <summary>llama.cpp's KV cache in f32 (isolates the weights) rather than its default f16.</summary>
    public bool F32KvCache { get; init; } = true;

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>One (model, dtype) export.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Dtype">Encoding.</param>
/// <param name="Bytes">GGUF file size.</param>
/// <param name="TensorTypes">Tensors per ggml type.</param>
/// <param name="GreedyIdentical">Prompts whose greedy tokens in llama.cpp equal Condense's, of <paramref name="Prompts"/>.</param>
/// <param name="Prompts">Prompts compared.</param>
/// <param name="FirstDivergence">Per prompt, the first position where the two greedy lists differ (null where identical).</param>
/// <param name="DivergenceGap">Per prompt where they differ: Condense's logit of its own token minus its logit of llama.cpp's token
/// at the first divergence (how near a tie the flip was).</param>
/// <param name="CondensePerplexity">Condense's f32 PPL on the documents.</param>
/// <param name="LlamaCppPerplexity">llama.cpp's PPL on the same token ids.</param>
public sealed record GgufExportRow(string Model, string Dtype, long Bytes, IReadOnlyDictionary<string, int> TensorTypes, int GreedyIdentical, int Prompts,
    IReadOnlyList<int?> FirstDivergence, IReadOnlyList<double?> DivergenceGap, double CondensePerplexity, double LlamaCppPerplexity)
{
    /// <summary>llama.cpp's PPL over Condense's.</summary>
    public double PerplexityRatio => LlamaCppPerplexity / CondensePerplexity;
}

/// <summary>Tokenizer agreement for one model.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Documents">Documents tokenized.</param>
/// <param name="Identical">Documents whose ids are identical.</param>
/// <param name="Tokens">Condense's tokens over those documents.</param>
public sealed record TokenizerAgreement(string Model, int Documents, int Identical, long Tokens);

/// <summary>The study's result.</summary>
/// <param name="Rows">Per model and dtype.</param>
/// <param name="Tokenizers">Per model.</param>
/// <param name="Documents">Documents scored.</param>
/// <param name="PredictedTokens">Per model, tokens predicted in the PPL.</param>
/// <param name="Steps">Greedy positions per prompt.</param>
/// <param name="Prompts">The prompts.</param>
/// <param name="KvCache">llama.cpp's KV cache type (f32 or f16).</param>
public sealed record GgufExportStudyResult(IReadOnlyList<GgufExportRow> Rows, IReadOnlyList<TokenizerAgreement> Tokenizers, int Documents,
    IReadOnlyDictionary<string, long> PredictedTokens, int Steps, IReadOnlyList<string> Prompts, string KvCache);

/// <summary>Runs and reports the study.</summary>
public static class GgufExportStudy
{
    /// <summary>Exports every model in every dtype and compares llama.cpp with Condense.</summary>
    public static GgufExportStudyResult Run(GgufExportStudyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var log = options.Log ?? (_ => { });
        var documents = File.ReadLines(options.EvalText).Where(l => l.Trim().Length > 0).Take(options.Documents).ToList();
        var rows = new List<GgufExportRow>();
        var tokenizers = new List<TokenizerAgreement>();
        var predicted = new Dictionary<string, long>();
        foreach (var (name, path) in options.Models)
        {
            using var scope = NewDisposeScope();
            var (model, tokenizer, _, _) = LanguageModelFiles.Load(path, null);
            using var _m = model;
            int context = model.Config.MaxSeqLen;
            var (sequences, _) = Perplexity.Tokenize(tokenizer, documents, context);
            var reference = Perplexity.Evaluate(model, sequences);
            predicted[name] = reference.Tokens;
            var prompts = options.Prompts.Select(p => tokenizer.Encode(p, bos: true)).ToList();
            var expected = prompts.Select(p => LlamaGenerator.Generate(model, p, options.Steps, new SamplingOptions(Temperature: 0)).Tokens.ToList()).ToList();
            foreach (var dtype in options.Dtypes)
            {
                var file = Path.Combine(options.OutputDir, $"{name}-{dtype.ToString().ToLowerInvariant()}.gguf");
                var export = LlamaGgufExport.Write(model, tokenizer, file, dtype, name);
                using var cpp = new LlamaCppModel(file, context, f32KvCache: options.F32KvCache);
                var generated = prompts.Select(p => cpp.Greedy(p, options.Steps)).ToList();
                var divergence = prompts.Select((_, i) => FirstDifference(expected[i], generated[i])).ToList();
                var gaps = divergence.Select((d, i) => d is int at && at < expected[i].Count && at < generated[i].Count
                    ? LogitGap(model, expected[i], at, generated[i][at]) : (double?)null).ToList();
                var row = new GgufExportRow(name, dtype.ToString().ToLowerInvariant(), export.Bytes, export.TensorTypes, divergence.Count(d => d is null), prompts.Count,
                    divergence, gaps, reference.Perplexity, cpp.Perplexity(sequences));
                rows.Add(row);
                log(string.Create(CultureInfo.InvariantCulture, $"{name} {row.Dtype}: {row.Bytes / 1024.0:F0} KiB, greedy identical {row.GreedyIdentical}/{row.Prompts}, PPL {row.LlamaCppPerplexity:F4} vs {row.CondensePerplexity:F4}"));
                if (dtype == GgufDtype.F32)
                {
                    var ids = documents.Select(d => tokenizer.Encode(d, bos: true)).ToList();
                    int identical = documents.Where((d, i) => ids[i].SequenceEqual(cpp.Tokenize(d))).Count();
                    tokenizers.Add(new TokenizerAgreement(name, documents.Count, identical, ids.Sum(t => (long)t.Length)));
                }
            }
        }
        return new GgufExportStudyResult(rows, tokenizers, documents.Count, predicted, options.Steps, options.Prompts, options.F32KvCache ? "f32" : "f16");
    }

    /// <summary>The result as the generated Markdown section.</summary>
    public static string Markdown(GgufExportStudyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"Greedy: {result.Prompts.Count} prompts, {result.Steps} positions each, llama.cpp's tokens against Condense's f32 generation; where they part, the position and Condense's logit margin there between its token and llama.cpp's. PPL: the first {result.Documents} non-empty lines of the evaluation text, BOS first, the same token ids in both. llama.cpp's KV cache: {result.KvCache}.");
        md.AppendLine();
        md.AppendLine("| model | dtype | file | tensors | greedy identical | first divergence (logit gap) | PPL Condense (f32) | PPL llama.cpp | ratio |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
        {
            var types = string.Join(", ", r.TensorTypes.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Value} {t.Key}"));
            var divergence = r.FirstDivergence.All(d => d is null) ? "–"
                : string.Join(", ", r.FirstDivergence.Select((d, i) => d is null ? "–" : r.DivergenceGap[i] is double g ? string.Create(inv, $"{d} ({g:G2})") : d.Value.ToString(inv)));
            md.AppendLine(inv, $"| {r.Model} | {r.Dtype} | {r.Bytes / 1024.0:F0} KiB | {types} | {r.GreedyIdentical}/{r.Prompts} | {divergence} | {r.CondensePerplexity:F4} | {r.LlamaCppPerplexity:F4} | {r.PerplexityRatio:F4} |");
        }
        md.AppendLine();
        md.AppendLine("| model | documents | tokenized identically by llama.cpp | tokens |");
        md.AppendLine("|---|---|---|---|");
        foreach (var t in result.Tokenizers)
            md.AppendLine(inv, $"| {t.Model} | {t.Documents} | {t.Identical} | {t.Tokens:N0} |");
        return md.ToString();
    }

    // Condense's logit of tokens[at] minus its logit of other, predicting position at from tokens[..at].
    private static double LogitGap(Condense.Language.Models.LlamaForCausalLM model, IReadOnlyList<int> tokens, int at, int other)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(tokens.Take(at).Select(t => (long)t).ToArray()).unsqueeze(0);   // (1, at)
        var logits = model.forward(input)[0, -1];                                            // (V)
        return logits[tokens[at]].item<float>() - logits[other].item<float>();
    }

    private static int? FirstDifference(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Min(a.Count, b.Count);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return a.Count == b.Count ? null : n;
    }
}
