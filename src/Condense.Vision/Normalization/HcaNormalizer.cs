// Hadamard whitening of PHI-S (Ranzinger et al., arXiv:2410.01680, section 2, Table 1 "HCA"):
//   y′ = H·Λ^{-½}·Uᵀ(y − μ),   Θ = U·Λ^{½}·Hᵀ,
// PCA whitening followed by the Hadamard rotation (Hadamard.CreateOrOrthogonal(C)). Whitened output has identity
// covariance in any rotation, so H changes nothing statistically; the paper includes it to separate the effect of
// the rotation from that of isotropic scaling.
//
// Deviations: eigenvalues clamped as Spectrum.ClampForWhitening; for C without a Hadamard construction the
// seeded orthogonal fallback is used (as the reference's allow_approx).
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Hadamard whitening ("hca"): y′ = HΛ^{-½}Uᵀ(y − μ).</summary>
public sealed class HcaNormalizer : AffineFeatureNormalizer
{
    private readonly Tensor rotation;   // (C, C) float64, H

    /// <summary>An unfitted (identity) normalizer for <paramref name="channels"/>-wide features, with its fixed rotation H.</summary>
    public HcaNormalizer(int channels) : base(FeatureNormalizers.Hca, channels) =>
        rotation = Hadamard.CreateOrOrthogonal(channels).DetachFromDisposeScope();

    /// <summary>The rotation H (C, C) float64; owned, do not dispose.</summary>
    public Tensor Rotation => rotation;

    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var (values, u) = Spectrum.Decompose(moments.Covariance());                   // (C), (C, C)
        var root = Spectrum.ClampForWhitening(values).sqrt();                          // (C) λ^{½}
        var whiten = rotation.matmul(u.t() / root.unsqueeze(1));                       // (C, C) HΛ^{-½}Uᵀ
        var inverse = (u * root.unsqueeze(0)).matmul(rotation.t());                    // (C, C) UΛ^{½}Hᵀ
        return (moments.Mean.clone(), whiten, inverse);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) rotation.Dispose();
        base.Dispose(disposing);
    }
}
