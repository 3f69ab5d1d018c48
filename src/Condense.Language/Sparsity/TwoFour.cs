// 2:4 semi-structured sparsity along the input dimension: a Linear weight W (out, in) is seen as groups of 4
// consecutive input columns of one output row (W.view(-1, 4)), and each group keeps exactly 2 weights. That is
// the layout sparse tensor cores accelerate, and MaskLLM's (NVlabs/MaskLLM, `mask_options`): the 6 candidate
// masks of a group, in the order `[1,1,0,0] [1,0,1,0] [1,0,0,1] [0,1,1,0] [0,1,0,1] [0,0,1,1]`.
//
// Compact representation: each group's mask is its candidate index (0..5), two groups per byte (low nibble
// first), so a mask costs 1 bit per weight instead of 32.
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Helpers for 2:4 masks on weights of shape (out, in) with in divisible by 4.</summary>
public static class TwoFour
{
    /// <summary>Weights per group.</summary>
    public const int M = 4;

    /// <summary>Weights kept per group.</summary>
    public const int N = 2;

    /// <summary>The 6 candidate masks in MaskLLM's order, one row each.</summary>
    public static readonly float[,] Candidates =
    {
        { 1, 1, 0, 0 }, { 1, 0, 1, 0 }, { 1, 0, 0, 1 }, { 0, 1, 1, 0 }, { 0, 1, 0, 1 }, { 0, 0, 1, 1 },
    };

    /// <summary>Number of candidate masks.</summary>
    public const int CandidateCount = 6;

    /// <summary>The candidates as a (6, 4) float32 tensor.</summary>
    public static Tensor CandidateTensor(Device? device = null) => tensor(Candidates, device: device);

    /// <summary>Throws when <paramref name="weight"/> cannot hold a 2:4 pattern along its input dimension.</summary>
    public static void RequireShape(Tensor weight, string name)
    {
        if (weight.dim() != 2 || weight.shape[1] % M != 0)
            throw new ArgumentException(
                $"{name}: 2:4 along the input dimension needs a 2-D weight whose input size is a multiple of 4, got [{string.Join(", ", weight.shape)}]");
    }

    /// <summary>The mask (same shape as <paramref name="score"/>, float 0/1) keeping the 2 largest scores of each group of 4.</summary>
    public static Tensor KeepTopTwo(Tensor score)
    {
        using var scope = NewDisposeScope();
        var groups = score.reshape(-1, M);                                  // (G, 4)
        var keep = groups.topk(N, dim: -1).indexes;                         // (G, 2)
        var mask = zeros_like(groups, dtype: ScalarType.Float32);
        mask.scatter_(1, keep, ones_like(keep, dtype: ScalarType.Float32)); // (G, 4)
        return mask.view(score.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Candidate index (0..5) of each group of a valid 2:4 mask, as int64 (G).</summary>
    public static Tensor ToIndices(Tensor mask)
    {
        using var scope = NewDisposeScope();
        var groups = mask.reshape(-1, M).to_type(ScalarType.Float32);      // (G, 4)
        var overlap = groups.matmul(CandidateTensor(mask.device).t());      // (G, 6), 2 exactly at the match
        if (!(groups.sum(-1) == N).all().item<bool>())
            throw new ArgumentException("mask is not 2:4: some group does not keep exactly 2 weights");
        return overlap.argmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>The (G * 4) mask of candidate indices (G), reshaped to <paramref name="shape"/>.</summary>
    public static Tensor FromIndices(Tensor indices, long[] shape)
    {
        using var scope = NewDisposeScope();
        var mask = CandidateTensor(indices.device).index_select(0, indices.to_type(ScalarType.Int64)); // (G, 4)
        return mask.reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>Packs candidate indices (G) two per byte, low nibble first: uint8 (ceil(G / 2)).</summary>
    public static Tensor Pack(Tensor indices)
    {
        using var scope = NewDisposeScope();
        var idx = indices.to_type(ScalarType.Int64).flatten();
        if (idx.shape[0] % 2 == 1) idx = cat([idx, zeros(1, int64, idx.device)]);
        var pairs = idx.view(-1, 2);                                        // (ceil(G/2), 2)
        var bytes = pairs[.., 0] + pairs[.., 1] * 16;
        return bytes.to_type(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>Inverse of <see cref="Pack"/>: <paramref name="groups"/> candidate indices (int64). Throws on an index above 5.</summary>
    public static Tensor Unpack(Tensor packed, long groups)
    {
        using var scope = NewDisposeScope();
        if (packed.dim() != 1 || packed.shape[0] != (groups + 1) / 2)
            throw new ArgumentException($"packed mask has shape [{string.Join(", ", packed.shape)}], expected [{(groups + 1) / 2}] for {groups} groups");
        var b = packed.to_type(ScalarType.Int64);
        var idx = stack([b % 16, b / 16], dim: 1).flatten().narrow(0, 0, groups); // (G)
        if ((idx >= CandidateCount).any().item<bool>())
            throw new ArgumentException("packed mask holds a candidate index above 5");
        return idx.MoveToOuterDisposeScope();
    }

    /// <summary>The first group of <paramref name="weight"/> (out, in) with more than 2 non-zeros, or null when it is 2:4.</summary>
    public static GroupViolation? FirstViolation(Tensor weight)
    {
        using var scope = NewDisposeScope();
        var nonZeros = (weight.reshape(-1, M) != 0).sum(-1);               // (G)
        var bad = (nonZeros > N).nonzero();
        if (bad.shape[0] == 0) return null;
        long g = bad[0, 0].item<long>();
        long groupsPerRow = weight.shape[1] / M;
        return new GroupViolation(g / groupsPerRow, g % groupsPerRow, nonZeros[g].item<long>());
    }
}

/// <summary>A group of 4 that keeps more than 2 weights: its row, its group index in the row (columns 4g..4g+3), and its non-zero count.</summary>
public sealed record GroupViolation(long Row, long Group, long NonZeros)
{
    /// <summary>The violation in words: row, group, input columns and non-zero count.</summary>
    public override string ToString() =>
        $"row {Row} group {Group} (input columns {Group * TwoFour.M}-{Group * TwoFour.M + TwoFour.M - 1}) has {NonZeros} non-zeros";
}
