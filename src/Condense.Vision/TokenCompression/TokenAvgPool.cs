// Average pooling of the patch-token grid, the local baseline that RADIOv2.5's token-merging ablation (section 3.4
// of shared/research/radio.md) is measured against. ToMe (Bolya et al., arXiv:2210.09461) compares merging with
// pooling the same way. No reference file: this is f×f average pooling written as a fixed grouping.
//
// Deviations:
// - Expressed as a MergeResult (every token's group is its f×f cell, sizes f²), so MergeResult.Unmerge is
//   nearest-neighbour upsampling and the same reconstruction measure applies to pooling and merging.
// - No prefix tokens: the input is the patch grid only.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>f×f average pooling of row-major (B, h·w, C) grid tokens to (B, (h/f)·(w/f), C).</summary>
public static class TokenAvgPool
{
    /// <summary>Pools <paramref name="x"/> (B, gridH·gridW, C) in <paramref name="factor"/>×<paramref name="factor"/> cells; each token's group is its cell.</summary>
    public static MergeResult Pool(Tensor x, int gridH, int gridW, int factor)
    {
        TokenGrid.Require(x, gridH, gridW, factor);
        long B = x.shape[0], N = x.shape[1];
        int outW = gridW / factor;
        var cells = new long[N];
        for (int i = 0; i < gridH; i++)
            for (int j = 0; j < gridW; j++)
                cells[i * gridW + j] = (i / factor) * outW + j / factor;

        using var scope = torch.NewDisposeScope();
        var groups = torch.tensor(cells).unsqueeze(0).expand(B, N).contiguous();         // (B, N)
        var ones = torch.ones(B, N, 1, dtype: x.dtype);                                   // (B, N, 1)
        var (tokens, sizes) = TokenGroups.WeightedMean(x, ones, groups, N / (factor * factor));   // (B, N/f², C)
        return new MergeResult(tokens.MoveToOuterDisposeScope(), sizes.MoveToOuterDisposeScope(),
            groups.MoveToOuterDisposeScope());
    }
}
