// Shape checks shared by the grid baselines (pooling, pixel-unshuffle) of the token-compression study
// (ToMe: Bolya et al., arXiv:2210.09461). No reference file; no deviations.
using static TorchSharp.torch;

namespace Condense.Vision.TokenCompression;

/// <summary>Shape checks of the grid baselines of token compression.</summary>
public static class TokenGrid
{
    /// <summary>Throws unless x is (B, h·w, C) and f divides both sides.</summary>
    public static void Require(Tensor x, int gridH, int gridW, int factor)
    {
        TokenGroups.RequireTokens(x, nameof(x));
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridH, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridW, 1);
        if (x.shape[1] != (long)gridH * gridW)
            throw new ArgumentException($"{x.shape[1]} tokens are not a {gridH}x{gridW} grid", nameof(x));
        if (gridH % factor != 0 || gridW % factor != 0)
            throw new ArgumentException($"a {gridH}x{gridW} grid is not divisible by {factor}", nameof(factor));
    }
}
