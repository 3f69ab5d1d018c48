// Size-weighted averaging of tokens into groups given by an index per token: the arithmetic behind ToMe's
// `merge_wavg` (Bolya et al., arXiv:2210.09461; NVlabs/RADIO radio/tome_merge.py), which computes
// merge(x * size, "sum") / merge(size, "sum") with `scatter_reduce`.
//
// Deviations:
// - One scatter-add over an explicit group index per token instead of the reference's gather of the A set plus a
//   `scatter_reduce` into the B set; the sums are the same (the reference's "sum" also starts from the B tokens).
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

internal static class TokenGroups
{
    /// <summary>
    /// Sums size-weighted tokens per group and divides by the group's total size.
    /// </summary>
    /// <param name="x">(B, N, C) tokens.</param>
    /// <param name="sizes">(B, N, 1) token sizes, positive.</param>
    /// <param name="groups">(B, N) int64, each in [0, count); every group must receive at least one token.</param>
    /// <param name="count">Number of groups N'.</param>
    /// <returns>Tokens (B, N', C) and sizes (B, N', 1).</returns>
    public static (Tensor Tokens, Tensor Sizes) WeightedMean(Tensor x, Tensor sizes, Tensor groups, long count)
    {
        long B = x.shape[0], N = x.shape[1], C = x.shape[2];
        var index = groups.unsqueeze(-1);                                                  // (B, N, 1)
        var sum = torch.zeros(B, count, C, dtype: x.dtype)
            .scatter_add(1, index.expand(B, N, C), x * sizes);                            // (B, N', C)
        var size = torch.zeros(B, count, 1, dtype: sizes.dtype).scatter_add(1, index, sizes);   // (B, N', 1)
        return (sum / size, size);
    }

    /// <summary>The identity grouping (B, N): token i stays token i.</summary>
    public static Tensor Identity(long batch, long count) =>
        torch.arange(count, dtype: ScalarType.Int64).unsqueeze(0).expand(batch, count).contiguous();   // (B, N)

    /// <summary>Rows scaled to unit L2 norm (zero rows stay zero), as the reference's metric normalization.</summary>
    public static Tensor Normalize(Tensor metric) =>
        metric / metric.norm(-1, keepdim: true).clamp_min(1e-12);                      // (B, N, Cm)

    /// <summary>Throws unless <paramref name="x"/> is (B, N, C) with N at least <paramref name="minTokens"/>.</summary>
    public static void RequireTokens(Tensor x, string name, long minTokens = 1)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.dim() != 3)
            throw new ArgumentException($"expected (B, N, C) tokens, got [{string.Join(", ", x.shape)}]", name);
        if (x.shape[1] < minTokens)
            throw new ArgumentException($"expected at least {minTokens} tokens, got {x.shape[1]}", name);
        if (!x.is_floating_point())
            throw new ArgumentException($"expected floating-point tokens, got {x.dtype}", name);
    }
}
