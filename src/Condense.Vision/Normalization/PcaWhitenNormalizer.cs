// PCA whitening of PHI-S (Ranzinger et al., arXiv:2410.01680, section 2, Table 1 "PCA-W"):
//   y′ = Λ^{-½}·Uᵀ(y − μ),   Θ = U·Λ^{½},   Σ = UΛUᵀ.
// Output dimension k is the k-th principal component (descending variance), scaled to unit variance.
//
// Deviations: eigenvalues clamped as Spectrum.ClampForWhitening, eigenvectors sign-fixed as Spectrum.Decompose.
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>PCA whitening ("pca-w"): y′ = Λ^{-½}Uᵀ(y − μ).</summary>
public sealed class PcaWhitenNormalizer(int channels) : AffineFeatureNormalizer(FeatureNormalizers.PcaWhiten, channels)
{
    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var (values, u) = Spectrum.Decompose(moments.Covariance());                   // (C), (C, C)
        var root = Spectrum.ClampForWhitening(values).sqrt();                          // (C) λ^{½}
        return (moments.Mean.clone(), u.t() / root.unsqueeze(1), u * root.unsqueeze(0));
    }
}
