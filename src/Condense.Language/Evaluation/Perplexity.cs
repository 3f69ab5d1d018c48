// Perplexity protocol of this repository (issue 6): every document (Condense.Core.Data.TextCorpus: split on
// "<|endoftext|>" lines, else on blank lines) is tokenized with BOS first and cut to the model's sequence length;
// the mean NLL is taken over all predicted tokens of all documents (token-weighted, not a mean of per-document
// means), and PPL = exp(mean NLL).
//
// Deviations: llama2.c's published validation loss (1.297 for stories260K) averages random fixed-length windows
// of the concatenated, BOS-separated token stream, where most positions have long context; here each document
// starts from BOS, so its first tokens are harder and the numbers are not directly comparable.
using Condense.Core;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Language.Evaluation;

/// <summary>Result of a perplexity evaluation.</summary>
/// <param name="MeanNll">Mean negative log-likelihood per predicted token, in nats.</param>
/// <param name="Perplexity">exp(MeanNll).</param>
/// <param name="Tokens">Predicted tokens (each document contributes its length minus one).</param>
/// <param name="Documents">Documents scored.</param>
/// <param name="TruncatedDocuments">Documents cut to the model's sequence length.</param>
/// <param name="Seconds">Wall time of the forward passes.</param>
public sealed record PerplexityResult(double MeanNll, double Perplexity, long Tokens, int Documents,
    int TruncatedDocuments, double Seconds);

/// <summary>Token-weighted perplexity over documents.</summary>
public static class Perplexity
{
    /// <summary>Each document's tokens: BOS first, cut to <paramref name="maxSeqLen"/>; documents too short to predict anything are dropped.</summary>
    public static (List<int[]> Sequences, int Truncated) Tokenize(Llama2cTokenizer tokenizer,
        IEnumerable<string> documents, int maxSeqLen)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(documents);
        var sequences = new List<int[]>();
        int truncated = 0;
        foreach (var doc in documents)
        {
            var ids = tokenizer.Encode(doc, bos: true);
            if (ids.Length > maxSeqLen)
            {
                ids = ids[..maxSeqLen];
                truncated++;
            }
            if (ids.Length >= 2) sequences.Add(ids);
        }
        return (sequences, truncated);
    }

    /// <summary>
    /// Mean NLL and PPL of <paramref name="sequences"/> (each at most MaxSeqLen tokens), in right-padded
    /// batches of similar length holding at most <paramref name="batchTokens"/> tokens (default: sized so a
    /// batch's logits stay near 256 MB). <paramref name="progress"/> receives documents done.
    /// </summary>
    public static PerplexityResult Evaluate(LlamaForCausalLM model, IReadOnlyList<int[]> sequences,
        int truncated = 0, long? batchTokens = null, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("no documents to score", nameof(sequences));
        var tooLong = sequences.FirstOrDefault(s => s.Length > model.Config.MaxSeqLen);
        if (tooLong is not null)
            throw new ArgumentException($"a sequence of {tooLong.Length} tokens exceeds the model's MaxSeqLen {model.Config.MaxSeqLen}");
        long budget = batchTokens ?? Math.Clamp((64L << 20) / model.Config.VocabSize, 512, 16384);
        model.eval();
        using var noGrad = no_grad();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        double sum = 0;
        long count = 0;
        // Longest first, so every batch is padded to little more than its own rows.
        var order = Enumerable.Range(0, sequences.Count).OrderByDescending(i => sequences[i].Length).ToArray();
        int start = 0;
        while (start < order.Length)
        {
            int T = sequences[order[start]].Length;
            int rows = (int)Math.Clamp(budget / T, 1, order.Length - start);
            using var scope = NewDisposeScope();
            var batchSeqs = order.Skip(start).Take(rows).Select(i => (IReadOnlyList<int>)sequences[i]).ToList();
            using var batch = TokenBatch.FromSequences(batchSeqs, model.OutputWeight.device);
            var (batchSum, batchCount) = TokenScoring.SumNll(model, batch);
            sum += batchSum.item<double>();
            count += batchCount;
            start += rows;
            progress?.Invoke(rows);
        }
        double mean = NonFiniteResultException.Check(sum / count, "the mean NLL", "the model's weights may hold NaN or infinite values");
        double ppl = NonFiniteResultException.Check(Math.Exp(mean), $"the perplexity (mean NLL {mean:G4} nats)", "the model's weights may be corrupt");
        return new PerplexityResult(mean, ppl, count, sequences.Count, truncated, watch.Elapsed.TotalSeconds);
    }
}
