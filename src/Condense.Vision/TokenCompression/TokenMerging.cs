// Bipartite soft matching, the token-merging step of ToMe (Bolya et al., "Token Merging: Your ViT But Faster",
// arXiv:2210.09461, section 3), as RADIOv2.5 uses it to cut vision-encoder output tokens to a fixed budget for a
// VLM. References: NVlabs/RADIO radio/tome_merge.py (`bipartite_soft_matching`, `merge_wavg`, `unmerge`) and
// facebookresearch/ToMe tome/merge.py.
//
// One round: L2-normalize the metric rows, split the unprotected tokens into A (even positions) and B (odd),
// score A·Bᵀ (cosine similarity), give every A token its most similar B token, and merge the r A tokens with the
// highest scores into their B match by size-weighted average; the other A tokens and all B tokens are kept.
// Output order as in the reference: protected prefix, kept A tokens (in descending score order), B tokens.
//
// Deviations:
// - A fixed budget is reached by repeating rounds until exactly `budget` tokens remain; each round removes as
//   many as it can (|A|) unless `mergesPerRound` caps it. The reference merges a fixed r per transformer layer.
// - Between rounds the metric is the size-weighted mean of the previous round's metric (by default the tokens
//   themselves); inside a ViT the reference recomputes it from each layer's attention keys.
// - r may be as large as |A| = ceil(n/2) when the unprotected count n is odd (the reference caps r at floor(n/2)).
// - The unmerge map is composed over all rounds (see MergeResult), and the final tokens are the size-weighted
//   means of the original tokens over each group rather than a chain of per-round averages (equal up to rounding).
// - Zero metric rows are left at zero instead of dividing by a zero norm.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>ToMe bipartite soft matching on (B, N, C) token sequences.</summary>
public static class TokenMerging
{
    /// <summary>
    /// The most tokens one round can remove from <paramref name="tokens"/> tokens of which the first
    /// <paramref name="protectedPrefix"/> are protected: |A| = ceil(n/2) when B is not empty, else 0.
    /// </summary>
    public static long MaxMergesPerRound(long tokens, int protectedPrefix)
    {
        long rest = tokens - protectedPrefix;
        return rest < 2 ? 0 : (rest + 1) / 2;
    }

    /// <summary>
    /// One round of bipartite soft matching that removes exactly <paramref name="r"/> tokens.
    /// </summary>
    /// <param name="x">(B, N, C) tokens.</param>
    /// <param name="r">Tokens to remove, 0 to <see cref="MaxMergesPerRound"/>.</param>
    /// <param name="protectedPrefix">Leading tokens (summary tokens, registers) that are never merged.</param>
    /// <param name="metric">(B, N, Cm) similarity features; default <paramref name="x"/>.</param>
    public static MergeResult BipartiteSoftMatching(Tensor x, long r, int protectedPrefix = 0, Tensor? metric = null)
    {
        Validate(x, protectedPrefix, metric);
        long max = MaxMergesPerRound(x.shape[1], protectedPrefix);
        if (r < 0 || r > max)
            throw new ArgumentOutOfRangeException(nameof(r), r,
                $"one round can remove 0 to {max} of {x.shape[1]} tokens with {protectedPrefix} protected");
        return Merge(x, x.shape[1] - r, protectedPrefix, metric, long.MaxValue);
    }

    /// <summary>
    /// Repeats bipartite soft matching until exactly <paramref name="budget"/> tokens remain (protected ones
    /// included), tracking token sizes and where every original token went.
    /// </summary>
    /// <param name="x">(B, N, C) tokens.</param>
    /// <param name="budget">Output tokens N', from protectedPrefix + 1 (or N when nothing can merge) to N.</param>
    /// <param name="protectedPrefix">Leading tokens that are never merged and stay first, unchanged.</param>
    /// <param name="metric">(B, N, Cm) similarity features; default <paramref name="x"/>.</param>
    /// <param name="mergesPerRound">
    /// Caps the tokens one round removes (default: as many as a round can, |A|); smaller steps re-match after
    /// fewer merges, like ToMe's per-layer r.
    /// </param>
    public static MergeResult MergeToBudget(Tensor x, long budget, int protectedPrefix = 0, Tensor? metric = null,
        long? mergesPerRound = null)
    {
        Validate(x, protectedPrefix, metric);
        if (mergesPerRound is < 1)
            throw new ArgumentOutOfRangeException(nameof(mergesPerRound), mergesPerRound, "must be at least 1");
        long N = x.shape[1];
        long min = Math.Min(N, protectedPrefix + 1L);
        if (budget < min || budget > N)
            throw new ArgumentOutOfRangeException(nameof(budget), budget,
                $"the budget must be {min} to {N} for {N} tokens with {protectedPrefix} protected");
        return Merge(x, budget, protectedPrefix, metric, mergesPerRound ?? long.MaxValue);
    }

    private static MergeResult Merge(Tensor x, long budget, int protectedPrefix, Tensor? metric, long cap)
    {
        using var scope = torch.NewDisposeScope();
        long B = x.shape[0], N = x.shape[1];
        Tensor map = TokenGroups.Identity(B, N);                                          // (B, N)
        using (torch.no_grad())
        {
            var m = (metric ?? x).detach();                                               // (B, n, Cm)
            var sizes = torch.ones(B, N, 1, dtype: m.dtype);                              // (B, n, 1)
            long n = N;
            while (n > budget)
            {
                long r = Math.Min(Math.Min(n - budget, cap), MaxMergesPerRound(n, protectedPrefix));
                var groups = Round(m, r, protectedPrefix);                                // (B, n)
                n -= r;
                (m, sizes) = TokenGroups.WeightedMean(m, sizes, groups, n);               // (B, n', Cm), (B, n', 1)
                map = groups.gather(1, map);                                              // (B, N)
            }
        }
        var ones = torch.ones(B, N, 1, dtype: x.dtype);                                   // (B, N, 1)
        var (tokens, size) = TokenGroups.WeightedMean(x, ones, map, budget);              // (B, N', C), (B, N', 1)
        return new MergeResult(tokens.MoveToOuterDisposeScope(), size.MoveToOuterDisposeScope(),
            map.MoveToOuterDisposeScope());
    }

    // The group (output index) of each of the n current tokens after removing r of them: (B, n) int64.
    private static Tensor Round(Tensor metric, long r, int p)
    {
        long B = metric.shape[0], n = metric.shape[1], rest = n - p;
        long nA = (rest + 1) / 2, nB = rest / 2, kept = nA - r;
        var m = TokenGroups.Normalize(metric.narrow(1, p, rest));                         // (B, rest, Cm)
        var a = m.slice(1, 0, rest, 2);                                                   // (B, nA, Cm)
        var b = m.slice(1, 1, rest, 2);                                                   // (B, nB, Cm)
        var scores = a.matmul(b.transpose(1, 2));                                         // (B, nA, nB)
        var (best, bestIdx) = scores.max(-1);                                             // (B, nA), (B, nA)
        var order = best.argsort(-1, descending: true);                                   // (B, nA)
        var unmerged = order.narrow(1, r, kept);                                          // (B, nA - r)
        var merged = order.narrow(1, 0, r);                                               // (B, r)
        var destination = bestIdx.gather(1, merged);                                      // (B, r)

        var keptSlots = (torch.arange(kept, dtype: ScalarType.Int64) + p).unsqueeze(0).expand(B, kept);
        var groupsA = torch.zeros(B, nA, dtype: ScalarType.Int64)
            .scatter(1, unmerged, keptSlots)
            .scatter(1, merged, destination + (p + kept));                                // (B, nA)
        var groupsB = (torch.arange(nB, dtype: ScalarType.Int64) + (p + kept)).unsqueeze(0).expand(B, nB);
        var prefix = torch.arange(p, dtype: ScalarType.Int64);                            // (p)
        var positions = torch.cat([
            prefix,
            torch.arange(nA, dtype: ScalarType.Int64) * 2 + p,
            torch.arange(nB, dtype: ScalarType.Int64) * 2 + (p + 1)], 0);                // (n)
        var values = torch.cat([prefix.unsqueeze(0).expand(B, p), groupsA, groupsB], 1);  // (B, n)
        return torch.zeros(B, n, dtype: ScalarType.Int64)
            .scatter(1, positions.unsqueeze(0).expand(B, n), values);                     // (B, n)
    }

    internal static void Validate(Tensor x, int protectedPrefix, Tensor? metric)
    {
        TokenGroups.RequireTokens(x, nameof(x));
        if (protectedPrefix < 0 || protectedPrefix > x.shape[1])
            throw new ArgumentOutOfRangeException(nameof(protectedPrefix), protectedPrefix,
                $"between 0 and the {x.shape[1]} tokens");
        if (metric is null) return;
        TokenGroups.RequireTokens(metric, nameof(metric));
        if (metric.shape[0] != x.shape[0] || metric.shape[1] != x.shape[1])
            throw new ArgumentException(
                $"metric [{string.Join(", ", metric.shape)}] does not match tokens [{string.Join(", ", x.shape)}]",
                nameof(metric));
    }
}
