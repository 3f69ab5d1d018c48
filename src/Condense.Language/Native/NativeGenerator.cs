// Generation on the native engine with the rule of LlamaGenerator (and llama2.c's run.c): the prompt BOS first,
// `steps` positions forwarded at most, BOS ends the text; the same Sampler, so greedy and seeded sampling choose as
// the TorchSharp path does up to float rounding of the logits.
using Condense.Language.Generation;

namespace Condense.Language.Native;

/// <summary>Greedy or sampled continuation on a <see cref="NativeLlama"/>.</summary>
public static class NativeGenerator
{
    /// <summary>Continues <paramref name="prompt"/> (BOS first) as <see cref="LlamaGenerator.Generate"/> does.</summary>
    public static GenerationResult Generate(NativeLlama engine, IReadOnlyList<int> prompt, int steps, SamplingOptions options, Action<int>? onToken = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        engine.Reset();
        // The prompt arrives as one list (forwarded in blocks of matrix products), each new token alone.
        return LlamaGenerator.Run(engine.Config.MaxSeqLen, prompt, steps, options, tokens =>
            engine.Forward(tokens is List<int> list ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list) : tokens.ToArray()), onToken);
    }
}
