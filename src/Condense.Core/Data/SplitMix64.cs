// SplitMix64 (Steele, Lea & Flood 2014; the seeder of xoshiro): a tiny, fast generator with a fixed, documented
// output sequence. We write our own instead of System.Random because Random's algorithm is an implementation
// detail that may change between .NET versions, and a shuffle must replay identically to resume a run.
namespace Condense.Core.Data;

/// <summary>A deterministic 64-bit generator; same seed, same sequence, on every platform and runtime.</summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The generator's state: <c>new SplitMix64(State)</c> continues the same sequence (for checkpoints).</summary>
    public readonly ulong State => _state;

    /// <summary>The next 64-bit value of the sequence.</summary>
    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound), without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var b = (ulong)bound;
        while (true)
        {
            var product = Math.BigMul(Next(), b, out var low);
            // Reject the few low values that would make some results one draw more likely than others.
            if (low >= (0UL - b) % b) return (int)product;
        }
    }

    /// <summary>Uniform in [0, 1) from the top 53 bits of <see cref="Next"/>.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates from the last element down).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
