// Autoregressive generation with a KV cache, following karpathy/llama2.c run.c's `generate`: the prompt starts
// with BOS, positions count from BOS, `steps` positions are forwarded at most, and BOS ends the text.
//
// Deviations: the prompt is forwarded in one batched call (prefill) instead of one position at a time; the
// logits are the same up to float rounding.
using Condense.Core;
using Condense.Language.Models;
using Condense.Language.Tokenizers;
using static TorchSharp.torch;

namespace Condense.Language.Generation;

/// <summary>Tokens of a generation and its timing.</summary>
/// <param name="Tokens">Prompt tokens (BOS first) followed by the generated ones.</param>
/// <param name="PromptTokens">How many of <paramref name="Tokens"/> came from the prompt.</param>
/// <param name="PrefillSeconds">Wall time of the prompt's forward pass.</param>
/// <param name="DecodeSeconds">Wall time of the one-token steps after it.</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, int PromptTokens, double PrefillSeconds, double DecodeSeconds)
{
    /// <summary>Number of generated (sampled) tokens.</summary>
    public int GeneratedTokens => Tokens.Count - PromptTokens;
}

/// <summary>Greedy or sampled continuation of a prompt by a <see cref="LlamaForCausalLM"/>.</summary>
public static class LlamaGenerator
{
    /// <summary>
    /// Continues <paramref name="prompt"/> (token ids, BOS first) until <paramref name="steps"/> positions have
    /// been forwarded (the result then holds steps + 1 tokens, as run.c prints steps pieces) or BOS is sampled.
    /// <paramref name="onToken"/> sees each new token as it is chosen.
    /// </summary>
    public static GenerationResult Generate(LlamaForCausalLM model, IReadOnlyList<int> prompt, int steps,
        SamplingOptions options, Action<int>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token (BOS)", nameof(prompt));
        if (steps <= 0 || steps > model.Config.MaxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in 1..{model.Config.MaxSeqLen} (the model's sequence length)");
        var tokens = prompt.Take(steps + 1).ToList();
        if (tokens.Count == steps + 1) return new GenerationResult(tokens, tokens.Count, 0, 0);

        var sampler = new Sampler(options);
        model.eval();
        using var noGrad = no_grad();
        using var cache = model.NewCache(1, steps);
        var device = model.OutputWeight.device;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int next = Step(model, cache, tokens, device, sampler);
        double prefill = watch.Elapsed.TotalSeconds;
        watch.Restart();
        while (next != Llama2cTokenizer.Bos)
        {
            tokens.Add(next);
            onToken?.Invoke(next);
            if (tokens.Count == steps + 1) break;
            next = Step(model, cache, [next], device, sampler);
        }
        return new GenerationResult(tokens, Math.Min(prompt.Count, steps + 1), prefill, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Forwards <paramref name="newTokens"/> at the cache's next positions; returns the token chosen after the last.</summary>
    private static int Step(LlamaForCausalLM model, LlamaKvCache cache, IReadOnlyList<int> newTokens, Device device, Sampler sampler)
    {
        using var scope = NewDisposeScope();
        var input = tensor(newTokens.Select(t => (long)t).ToArray(), [1, newTokens.Count], ScalarType.Int64, device);
        var logits = model.Forward(input, cache)[0, -1].to_type(ScalarType.Float32).cpu();  // (V)
        var values = logits.data<float>().ToArray();
        foreach (var v in values)
            NonFiniteResultException.Check(v, $"a logit at position {cache.Length - 1}", "the model's weights may hold NaN or infinite values");
        return sampler.Next(values);
    }
}
