// Perplexity on the native engine with the protocol of Perplexity.Evaluate (every document BOS first, token-weighted
// mean NLL over all predicted tokens), each document forwarded in blocks of matrix products (NativeLlama.Score).
using Condense.Core;
using Condense.Language.Evaluation;

namespace Condense.Language.Native;

/// <summary>Token-weighted perplexity of a <see cref="NativeLlama"/>.</summary>
public static class NativePerplexity
{
    /// <summary>Mean NLL and PPL of <paramref name="sequences"/>; <paramref name="progress"/> receives documents done.</summary>
    public static PerplexityResult Evaluate(NativeLlama engine, IReadOnlyList<int[]> sequences, int truncated = 0, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("no documents to score", nameof(sequences));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        double sum = 0;
        long count = 0;
        foreach (var sequence in sequences)
        {
            if (sequence.Length > engine.Config.MaxSeqLen)
                throw new ArgumentException($"a sequence of {sequence.Length} tokens exceeds the model's MaxSeqLen {engine.Config.MaxSeqLen}");
            engine.Reset();
            if (sequence.Length < 2) { progress?.Invoke(1); continue; }
            engine.Score(sequence.AsSpan(0, sequence.Length - 1), (t, logits) => sum += Nll(logits, sequence[t + 1]));
            count += sequence.Length - 1;
            progress?.Invoke(1);
        }
        double mean = NonFiniteResultException.Check(sum / count, "the mean NLL", "the model's weights may hold NaN or infinite values");
        double ppl = NonFiniteResultException.Check(Math.Exp(mean), $"the perplexity (mean NLL {mean:G4} nats)", "the model's weights may be corrupt");
        return new PerplexityResult(mean, ppl, count, sequences.Count, truncated, watch.Elapsed.TotalSeconds);
    }

    /// <summary>−log softmax(<paramref name="logits"/>)[<paramref name="target"/>], computed stably in float64.</summary>
    public static double Nll(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        double z = 0;
        foreach (var v in logits) z += Math.Exp(v - max);
        return max + Math.Log(z) - logits[target];
    }
}
