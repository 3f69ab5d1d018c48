// Pixel-unshuffle (space-to-depth) of the patch-token grid: each f×f cell of tokens becomes one token f² times as
// wide. This is the compression RADIOv2.5 compares token merging with (InternVL-style projectors, section 3.4 of
// shared/research/radio.md); ToMe is Bolya et al., arXiv:2210.09461. Same element order as PyTorch's
// `pixel_unshuffle` on the (B, C, h, w) map, with channels last: a token's channels are (di, dj, c).
//
// Deviations:
// - 16x uses one 4×4 step instead of two 2×2 steps; both keep the same values, in a different fixed channel order.
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>Space-to-depth on row-major (B, h·w, C) grid tokens and its exact inverse.</summary>
public static class TokenPixelUnshuffle
{
    /// <summary>(B, h·w, C) to (B, (h/f)·(w/f), f²·C).</summary>
    public static Tensor Apply(Tensor x, int gridH, int gridW, int factor)
    {
        TokenGrid.Require(x, gridH, gridW, factor);
        long B = x.shape[0], C = x.shape[2];
        int f = factor, h = gridH / f, w = gridW / f;
        return x.view(B, h, f, w, f, C)                       // (B, h', f, w', f, C)
            .permute(0, 1, 3, 2, 4, 5)                        // (B, h', w', f, f, C)
            .reshape(B, (long)h * w, (long)f * f * C);        // (B, h'w', f²C)
    }

    /// <summary>(B, (h/f)·(w/f), f²·C) back to (B, h·w, C).</summary>
    public static Tensor Inverse(Tensor y, int gridH, int gridW, int factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        TokenGroups.RequireTokens(y, nameof(y));
        int f = factor;
        if (gridH % f != 0 || gridW % f != 0 || y.shape[1] != (long)(gridH / f) * (gridW / f)
            || y.shape[2] % (f * f) != 0)
            throw new ArgumentException(
                $"[{string.Join(", ", y.shape)}] is not a {gridH}x{gridW} grid unshuffled by {f}", nameof(y));
        long B = y.shape[0], C = y.shape[2] / (f * f);
        int h = gridH / f, w = gridW / f;
        return y.view(B, h, w, f, f, C)                       // (B, h', w', f, f, C)
            .permute(0, 1, 3, 2, 4, 5)                        // (B, h', f, w', f, C)
            .reshape(B, (long)gridH * gridW, C);              // (B, h·w, C)
    }
}
