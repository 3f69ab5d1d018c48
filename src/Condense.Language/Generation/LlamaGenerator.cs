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
        model.eval();
        using var noGrad = no_grad();
        using var cache = model.NewCache(1, Math.Clamp(steps, 1, model.Config.MaxSeqLen));
        var device = model.OutputWeight.device;
        return Run(model.Config.MaxSeqLen, prompt, steps, options, tokens => Step(model, cache, tokens, device), onToken);
    }

    /// <summary>Forwards new tokens at the next positions of an engine's cache and returns the logits after the last.</summary>
    /// <param name="tokens">The tokens (the whole prompt first, then one at a time).</param>
    public delegate ReadOnlySpan<float> ForwardTokens(IReadOnlyList<int> tokens);

    /// <summary>
    /// The generation loop any engine runs (the TorchSharp model here, the native engine in <c>NativeGenerator</c>):
    /// the rule of <see cref="Generate(LlamaForCausalLM, IReadOnlyList{int}, int, SamplingOptions, Action{int}?)"/>
    /// with <paramref name="forward"/> computing the logits.
    /// </summary>
    public static GenerationResult Run(int maxSeqLen, IReadOnlyList<int> prompt, int steps, SamplingOptions options, ForwardTokens forward,
        Action<int>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(forward);
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token (BOS)", nameof(prompt));
        if (steps <= 0 || steps > maxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in 1..{maxSeqLen} (the model's sequence length)");
        var tokens = prompt.Take(steps + 1).ToList();
        if (tokens.Count == steps + 1) return new GenerationResult(tokens, tokens.Count, 0, 0);

        var sampler = new Sampler(options);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        int next = Choose(sampler, forward(tokens), tokens.Count);
        double prefill = watch.Elapsed.TotalSeconds;
        watch.Restart();
        while (next != Llama2cTokenizer.Bos)
        {
            tokens.Add(next);
            onToken?.Invoke(next);
            if (tokens.Count == steps + 1) break;
            next = Choose(sampler, forward([next]), tokens.Count);
        }
        return new GenerationResult(tokens, Math.Min(prompt.Count, steps + 1), prefill, watch.Elapsed.TotalSeconds);
    }

    private static int Choose(Sampler sampler, ReadOnlySpan<float> logits, int positions)
    {
        foreach (var v in logits)
            NonFiniteResultException.Check(v, $"a logit at position {positions - 1}", "the model's weights may hold NaN or infinite values");
        return sampler.Next(logits);
    }

    /// <summary>Forwards <paramref name="newTokens"/> at the cache's next positions; returns the logits after the last.</summary>
    private static float[] Step(LlamaForCausalLM model, LlamaKvCache cache, IReadOnlyList<int> newTokens, Device device)
    {
        using var scope = NewDisposeScope();
        var input = tensor(newTokens.Select(t => (long)t).ToArray(), [1, newTokens.Count], ScalarType.Int64, device);
        return model.Forward(input, cache)[0, -1].to_type(ScalarType.Float32).cpu().data<float>().ToArray();  // (V)
    }
}
