// Right-padded batches of token sequences for teacher-forced scoring. Padding sits after each row's last token,
// where causal attention keeps it from changing the real positions, and its targets are masked out.
using static TorchSharp.torch;

namespace Condense.Language.Evaluation;

/// <summary>Token sequences padded to one (B, T) batch, with the mask of real next-token targets.</summary>
public sealed class TokenBatch : IDisposable
{
    private TokenBatch(Tensor tokens, Tensor targetMask, long predicted)
    {
        Tokens = tokens;
        TargetMask = targetMask;
        PredictedTokens = predicted;
    }

    /// <summary>(B, T) int64 token ids, padded with 0 at the end of shorter rows.</summary>
    public Tensor Tokens { get; }

    /// <summary>(B, T - 1) bool: whether target tokens[:, t + 1] is a real token.</summary>
    public Tensor TargetMask { get; }

    /// <summary>Number of real targets (sum over rows of length - 1).</summary>
    public long PredictedTokens { get; }

    /// <summary>Pads <paramref name="sequences"/> (each at least 2 tokens) to the longest.</summary>
    public static TokenBatch FromSequences(IReadOnlyList<IReadOnlyList<int>> sequences, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("no sequences", nameof(sequences));
        int T = sequences.Max(s => s.Count);
        if (sequences.Any(s => s.Count < 2))
            throw new ArgumentException("every sequence needs at least 2 tokens (one prediction)", nameof(sequences));
        int B = sequences.Count;
        var ids = new long[B * T];
        var mask = new bool[B * (T - 1)];
        long predicted = 0;
        for (int b = 0; b < B; b++)
        {
            var s = sequences[b];
            for (int t = 0; t < s.Count; t++) ids[b * T + t] = s[t];
            for (int t = 0; t < s.Count - 1; t++) mask[b * (T - 1) + t] = true;
            predicted += s.Count - 1;
        }
        var tokens = tensor(ids, [B, T], ScalarType.Int64, device);
        var targetMask = tensor(mask, [B, T - 1], ScalarType.Bool, device);
        return new TokenBatch(tokens, targetMask, predicted);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        TargetMask.Dispose();
    }
}
