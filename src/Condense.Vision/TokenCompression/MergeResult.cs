// The outcome of compressing a token sequence by grouping: every original token belongs to exactly one output
// token, and the output token is the size-weighted mean of its group. ToMe (Bolya et al., "Token Merging: Your
// ViT But Faster", arXiv:2210.09461) tracks the same three things: merged tokens, token sizes (`merge_wavg`) and
// the source of each output token (`merge_source`); NVlabs/RADIO radio/tome_merge.py adds `unmerge`.
//
// Deviations:
// - The reference keeps `source` as a dense (B, N', N) 0/1 matrix and rebuilds `unmerge` per round; here the map
//   is one (B, N) index per original token, already composed over every round, so unmerging is a single gather.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>Compressed tokens plus what is needed to spread them back over the original positions.</summary>
/// <param name="Tokens">(B, N', C): the output tokens.</param>
/// <param name="Sizes">(B, N', 1): how many original tokens each output token stands for; sums to N per image.</param>
/// <param name="Map">(B, N) int64: for every original token, the index of the output token it ended up in.</param>
public sealed record MergeResult(Tensor Tokens, Tensor Sizes, Tensor Map)
{
    /// <summary>Number of output tokens N'.</summary>
    public long Count => Tokens.shape[1];

    /// <summary>Number of original tokens N.</summary>
    public long SourceCount => Map.shape[1];

    /// <summary>
    /// Copies each output token back to every original position it absorbed: (B, N', C') to (B, N, C').
    /// Works for any width C', e.g. the merged tokens after a projection.
    /// </summary>
    public Tensor Unmerge(Tensor merged)
    {
        ArgumentNullException.ThrowIfNull(merged);
        if (merged.dim() != 3 || merged.shape[0] != Map.shape[0] || merged.shape[1] != Count)
            throw new ArgumentException(
                $"expected ({Map.shape[0]}, {Count}, C) tokens to unmerge, got [{string.Join(", ", merged.shape)}]",
                nameof(merged));
        long B = merged.shape[0], N = SourceCount, C = merged.shape[2];
        return merged.gather(1, Map.unsqueeze(-1).expand(B, N, C));   // (B, N, C)
    }

    /// <summary>
    /// Applies the same grouping to other per-token values of the original sequence (B, N, C'), giving each group's
    /// plain mean (B, N', C'): for the tokens that were merged this reproduces <see cref="Tokens"/>.
    /// </summary>
    public Tensor Merge(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.dim() != 3 || values.shape[0] != Map.shape[0] || values.shape[1] != SourceCount)
            throw new ArgumentException(
                $"expected ({Map.shape[0]}, {SourceCount}, C) values to merge, got [{string.Join(", ", values.shape)}]",
                nameof(values));
        var ones = torch.ones(values.shape[0], values.shape[1], 1, dtype: values.dtype);   // (B, N, 1)
        return TokenGroups.WeightedMean(values, ones, Map, Count).Tokens;
    }
}
