// What removing attention buys at generation time: the KV cache of the runtime holds one (K, V) pair of
// (batch, n_kv_heads, capacity, head_dim) per layer that still has attention, so its size falls with every
// removed attention sub-layer; decoding speed is measured with the runtime's KV-cache generator (greedy).
using Condense.Language.Generation;
using Condense.Language.Models;

namespace Condense.Language.DepthPruning;

/// <summary>KV-cache size and greedy decoding speed of a model.</summary>
public sealed record KvCacheStats(int CachedLayers, long CacheBytes, int GeneratedTokens, double DecodeSeconds)
{
    /// <summary>Generated tokens per second of decoding (prefill excluded).</summary>
    public double TokensPerSecond => DecodeSeconds > 0 ? GeneratedTokens / DecodeSeconds : double.NaN;
}

/// <summary>Measures a model's KV-cache size and greedy decoding speed.</summary>
public static class KvCacheMeasurement
{
    /// <summary>
    /// Cache bytes for one sequence of the model's full length, and the best of <paramref name="repeats"/> greedy
    /// generations of <paramref name="steps"/> positions from <paramref name="prompt"/>.
    /// </summary>
    public static KvCacheStats Measure(LlamaForCausalLM model, IReadOnlyList<int> prompt, int steps, int repeats = 3)
    {
        ArgumentNullException.ThrowIfNull(model);
        var c = model.Config;
        int cached = Enumerable.Range(0, c.NLayers).Count(c.HasAttention);
        long bytes = Enumerable.Range(0, c.NLayers).Where(c.HasAttention).Sum(i => 2L * c.KvHeads(i) * c.MaxSeqLen * c.HeadDim * model.OutputWeight.ElementSize);
        GenerationResult? best = null;
        for (int r = 0; r < Math.Max(1, repeats); r++)
        {
            var result = LlamaGenerator.Generate(model, prompt, steps, new SamplingOptions(Temperature: 0));
            if (best is null || result.DecodeSeconds / Math.Max(1, result.GeneratedTokens)
                < best.DecodeSeconds / Math.Max(1, best.GeneratedTokens)) best = result;
        }
        // The first generated token comes from the prefill; the rest are decode steps.
        return new KvCacheStats(cached, bytes, Math.Max(0, best!.GeneratedTokens - 1), best.DecodeSeconds);
    }
}
