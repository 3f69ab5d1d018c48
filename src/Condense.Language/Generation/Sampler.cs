// Next-token choice as in karpathy/llama2.c run.c (Sampler: sample_argmax, sample_mult, sample_topp, and the
// xorshift* random_u32/random_f32): greedy at temperature 0, else softmax(logits / temperature) sampled in full or
// from the top-p nucleus, one uniform "coin" per token.
//
// Deviations: the softmax uses .NET's MathF.Exp rather than C's expf and ties in the nucleus sort keep index
// order (qsort is unstable), so a seeded run can pick a different token than run.c with the same seed when two
// probabilities are within a rounding error.

namespace Condense.Language.Generation;

/// <summary>How to pick tokens: temperature 0 is greedy; top-p in (0, 1) samples from the nucleus.</summary>
/// <param name="Temperature">Logit divisor; 0 means argmax.</param>
/// <param name="TopP">Nucleus mass; values outside (0, 1) sample from the full distribution.</param>
/// <param name="Seed">Seed of the xorshift generator (0 is replaced by a fixed non-zero value).</param>
public sealed record SamplingOptions(double Temperature = 0.0, double TopP = 0.9, ulong Seed = 42);

/// <summary>Picks the next token from a logit vector, deterministically for a given seed.</summary>
public sealed class Sampler
{
    private readonly SamplingOptions options;
    private ulong state;

    /// <summary>A sampler for <paramref name="options"/>; the temperature must be at least 0.</summary>
    public Sampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Temperature < 0 || double.IsNaN(options.Temperature))
            throw new ArgumentOutOfRangeException(nameof(options), options.Temperature, "temperature must be >= 0");
        this.options = options;
        // xorshift has the all-zero fixed point.
        state = options.Seed == 0 ? 0x9E3779B97F4A7C15UL : options.Seed;
    }

    /// <summary>The next token id for <paramref name="logits"/> (length = vocabulary).</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (options.Temperature == 0) return Argmax(logits);
        var probs = new float[logits.Length];
        float max = float.NegativeInfinity;
        float temperature = (float)options.Temperature;
        for (int i = 0; i < logits.Length; i++)
        {
            probs[i] = logits[i] / temperature;
            max = Math.Max(max, probs[i]);
        }
        float sum = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            probs[i] = MathF.Exp(probs[i] - max);
            sum += probs[i];
        }
        for (int i = 0; i < probs.Length; i++) probs[i] /= sum;
        float coin = RandomF32();
        return options.TopP is <= 0 or >= 1 ? SampleMult(probs, coin) : SampleTopP(probs, (float)options.TopP, coin);
    }

    /// <summary>Index of the largest value, the first one on ties (run.c's sample_argmax).</summary>
    public static int Argmax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static int SampleMult(float[] probs, float coin)
    {
        float cdf = 0;
        for (int i = 0; i < probs.Length; i++)
        {
            cdf += probs[i];
            if (coin < cdf) return i;
        }
        return probs.Length - 1; // rounding
    }

    private static int SampleTopP(float[] probs, float topP, float coin)
    {
        // Tokens below (1 - p) / (n - 1) can never be in the nucleus, so they are dropped before sorting.
        float cutoff = (1f - topP) / (probs.Length - 1);
        var candidates = Enumerable.Range(0, probs.Length).Where(i => probs[i] >= cutoff)
            .OrderByDescending(i => probs[i]).ToArray();
        float cumulative = 0;
        int last = candidates.Length - 1;
        for (int i = 0; i < candidates.Length; i++)
        {
            cumulative += probs[candidates[i]];
            if (cumulative > topP)
            {
                last = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0;
        for (int i = 0; i <= last; i++)
        {
            cdf += probs[candidates[i]];
            if (r < cdf) return candidates[i];
        }
        return candidates[last];
    }

    private uint RandomU32()
    {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return (uint)((state * 0x2545F4914F6CDD1DUL) >> 32);
    }

    private float RandomF32() => (RandomU32() >> 8) / 16777216.0f;
}
