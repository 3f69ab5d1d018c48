// Held-out scores of a (pruned) network under the repository's perplexity protocol (Evaluation/Perplexity.cs):
// every document tokenized with BOS first and cut to the model's sequence length, mean NLL over all predicted
// tokens, PPL = exp(mean NLL). It is re-done here because a network with removed units and stand-in updates is
// not a LlamaForCausalLM; a test checks both give the same number on the unpruned model. The same pass scores the
// second task: greedy next-token accuracy on dialogue vs narrative targets (DialogueLabels).
using Condense.Core;
using Condense.Core.Data;
using Condense.Language.Evaluation;
using Condense.Language.Tokenizers;
using Condense.Language.Text;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.DepthPruning;

/// <summary>Loss (nats), perplexity and next-token accuracy on dialogue and narrative targets.</summary>
public sealed record LmScore(double Loss, double Perplexity, double DialogueAccuracy, double NarrativeAccuracy,
    long Tokens);

/// <summary>Evaluation documents: token ids (BOS first, at most the model's sequence length) and their labels.</summary>
public sealed record EvalDocuments(IReadOnlyList<int[]> Sequences, IReadOnlyList<sbyte[]> Labels, int Truncated)
{
    /// <summary>
    /// <paramref name="maxDocuments"/> documents of <paramref name="path"/> (0: all) after the first
    /// <paramref name="skipDocuments"/>, tokenized as the perplexity protocol does.
    /// </summary>
    public static EvalDocuments Load(string path, Llama2cTokenizer tokenizer, int maxSeqLen, int maxDocuments = 0, int skipDocuments = 0)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var docs = TextCorpus.ReadDocuments(path);
        if (skipDocuments > 0) docs = [.. docs.Skip(skipDocuments)];
        if (maxDocuments > 0) docs = [.. docs.Take(maxDocuments)];
        var (sequences, truncated) = Perplexity.Tokenize(tokenizer, docs, maxSeqLen);
        var labels = sequences.Select(ids => TokenCorpus.Labels(tokenizer, ids)).ToList();
        return new EvalDocuments(sequences, labels, truncated);
    }
}

/// <summary>Held-out perplexity and dialogue/narrative accuracy of a network with some units removed.</summary>
public static class LmEvaluation
{
    /// <summary>Scores the network keeping the units in <paramref name="keep"/> (removed ones use their replacements).</summary>
    public static LmScore Evaluate(UnitNetwork network, EvalDocuments documents, ulong keep, long batchTokens = 8192)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(documents);
        using var noGrad = no_grad();
        double nll = 0;
        long count = 0, dialogueRight = 0, dialogue = 0, narrativeRight = 0, narrative = 0;
        var seqs = documents.Sequences;
        var order = Enumerable.Range(0, seqs.Count).OrderByDescending(i => seqs[i].Length).ToArray();
        for (int start = 0; start < order.Length;)
        {
            int T = seqs[order[start]].Length;
            int rows = (int)Math.Clamp(batchTokens / T, 1, order.Length - start);
            var idx = order.Skip(start).Take(rows).ToArray();
            start += rows;
            using var scope = NewDisposeScope();
            using var batch = TokenBatch.FromSequences([.. idx.Select(i => (IReadOnlyList<int>)seqs[i])]);
            var labelData = new sbyte[rows * (T - 1)];
            Array.Fill(labelData, DialogueLabels.Neither);
            for (int r = 0; r < rows; r++)
            {
                var l = documents.Labels[idx[r]];
                for (int t = 1; t < l.Length; t++) labelData[r * (T - 1) + t - 1] = l[t];
            }
            var labels = tensor(labelData, [rows, T - 1]);
            var inputs = batch.Tokens.narrow(1, 0, T - 1);                                 // (B, T-1)
            var targets = batch.Tokens.narrow(1, 1, T - 1);                                // (B, T-1)
            var logits = network.Logits(inputs, keep);                                     // (B, T-1, V)
            var tokenNll = functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1),
                reduction: Reduction.None).view(rows, T - 1);
            nll += tokenNll.masked_fill(batch.TargetMask.logical_not(), 0).to_type(ScalarType.Float64).sum().item<double>();
            count += batch.PredictedTokens;
            var right = logits.argmax(-1).eq(targets);
            var isDialogue = labels.eq(DialogueLabels.Dialogue);
            var isNarrative = labels.eq(DialogueLabels.Narrative);
            dialogueRight += (right & isDialogue).sum().item<long>();
            dialogue += isDialogue.sum().item<long>();
            narrativeRight += (right & isNarrative).sum().item<long>();
            narrative += isNarrative.sum().item<long>();
        }
        double loss = NonFiniteResultException.Check(nll / count, "the held-out loss", "the model's weights may hold NaN or infinite values");
        return new LmScore(loss, Math.Exp(loss), dialogue > 0 ? (double)dialogueRight / dialogue : double.NaN,
            narrative > 0 ? (double)narrativeRight / narrative : double.NaN, count);
    }
}
