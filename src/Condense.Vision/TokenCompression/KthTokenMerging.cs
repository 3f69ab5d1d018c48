// The k-th-destination variant of ToMe bipartite soft matching (Bolya et al., arXiv:2210.09461): every k-th token
// is a destination and every other token merges into its most similar destination, which leaves exactly N/k
// tokens in one shot. Reference: NVlabs/RADIO radio/tome_merge.py `kth_bipartite_soft_matching` (the last token
// of every run of k is the destination).
//
// Deviations:
// - Merging is size-weighted (`merge_wavg` with unit sizes): each output token is the plain mean of its
//   destination and the sources that chose it; the reference's default `scatter_reduce(..., "mean")` gives the same.
// - Protected prefix tokens are supported (kept first, unchanged); the reference has none.
// - The unprotected count must be a multiple of k; the reference silently drops the remainder.
// - Output order: prefix, then destinations in their original order (as the reference).
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>ToMe with every k-th token as a destination: (B, N, C) to (B, p + (N - p)/k, C).</summary>
public static class KthTokenMerging
{
    /// <param name="x">(B, N, C) tokens.</param>
    /// <param name="k">Stride of the destinations; 1 keeps every token.</param>
    /// <param name="protectedPrefix">Leading tokens that are never merged.</param>
    /// <param name="metric">(B, N, Cm) similarity features; default <paramref name="x"/>.</param>
    public static MergeResult Merge(Tensor x, int k, int protectedPrefix = 0, Tensor? metric = null)
    {
        TokenMerging.Validate(x, protectedPrefix, metric);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        long B = x.shape[0], N = x.shape[1], p = protectedPrefix, rest = N - p;
        if (rest % k != 0)
            throw new ArgumentException($"{rest} unprotected tokens are not a multiple of k = {k}", nameof(k));
        long G = rest / k;

        using var scope = torch.NewDisposeScope();
        Tensor groups;                                                                    // (B, N)
        using (torch.no_grad())
        {
            var m = (metric ?? x).detach();
            long Cm = m.shape[2];
            var runs = TokenGroups.Normalize(m.narrow(1, p, rest)).view(B, G, k, Cm);     // (B, G, k, Cm)
            var destinations = runs.select(2, k - 1);                                     // (B, G, Cm)
            var sources = runs.narrow(2, 0, k - 1).reshape(B, G * (k - 1), Cm);           // (B, G(k-1), Cm)
            var choice = sources.matmul(destinations.transpose(1, 2)).argmax(-1);         // (B, G(k-1))
            var own = torch.arange(G, dtype: ScalarType.Int64).view(1, G, 1).expand(B, G, 1);
            var restGroups = torch.cat([choice.view(B, G, k - 1), own], 2).view(B, rest) + p;   // (B, rest)
            var prefix = torch.arange(p, dtype: ScalarType.Int64).unsqueeze(0).expand(B, p);    // (B, p)
            groups = torch.cat([prefix, restGroups], 1);                                  // (B, N)
        }
        var ones = torch.ones(B, N, 1, dtype: x.dtype);                                   // (B, N, 1)
        var (tokens, sizes) = TokenGroups.WeightedMean(x, ones, groups, p + G);           // (B, N', C), (B, N', 1)
        return new MergeResult(tokens.MoveToOuterDisposeScope(), sizes.MoveToOuterDisposeScope(),
            groups.MoveToOuterDisposeScope());
    }
}
