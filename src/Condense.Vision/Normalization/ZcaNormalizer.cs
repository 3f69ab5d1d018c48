// ZCA whitening of PHI-S (Ranzinger et al., arXiv:2410.01680, section 2, Table 1 "ZCA"):
//   y′ = U·Λ^{-½}·Uᵀ(y − μ) = Σ^{-½}(y − μ),   Θ = Σ^{½} = U·Λ^{½}·Uᵀ.
// The whitening closest to the identity: output channels stay aligned with the teacher's channels.
//
// Deviations: eigenvalues clamped as Spectrum.ClampForWhitening.
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>ZCA whitening ("zca"): y′ = Σ^{-½}(y − μ).</summary>
public sealed class ZcaNormalizer(int channels) : AffineFeatureNormalizer(FeatureNormalizers.Zca, channels)
{
    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var (values, u) = Spectrum.Decompose(moments.Covariance());                   // (C), (C, C)
        var root = Spectrum.ClampForWhitening(values).sqrt();                          // (C) λ^{½}
        var whiten = (u / root.unsqueeze(0)).matmul(u.t());                            // (C, C) UΛ^{-½}Uᵀ
        var inverse = (u * root.unsqueeze(0)).matmul(u.t());                           // (C, C) UΛ^{½}Uᵀ
        return (moments.Mean.clone(), whiten, inverse);
    }
}
