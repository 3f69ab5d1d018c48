// PHI-S, PCA-Hadamard isotropic standardization (Ranzinger et al., "PHI-S: Distribution Balancing for Label-Free
// Multi-Teacher Distillation", arXiv:2410.01680, Theorem 2.1 and appendix A.5):
//   y′ = α·H·Uᵀ(y − μ),   α = φ⁻¹,   φ = sqrt(tr Σ / C) = sqrt(mean λ),   Θ = φ·U·Hᵀ.
// Cov(H·Uᵀy) = HΛHᵀ has diagonal Σ_i H_ri²·λ_i = mean λ for every r, because every H_ri² = 1/C; so one scalar α
// gives every output dimension unit variance, and since αHUᵀ is a scaled rotation, MSE in PHI-S space is α² times
// MSE in teacher space (isotropic). Rank deficiency only lowers mean λ: no division by a vanishing eigenvalue.
// Reference: NVlabs/RADIO examples/common/phi_s.py (get_phi_s_matrix); NVIDIA TAO PHIStandardization
// (_update_projections: eigh, clamp λ ≥ 0, alpha = mean(λ)^{-½}, whiten = α·H·Vᵀ, inv_whiten = α⁻¹·V·Hᵀ).
// Notes: /work/shared/research/radio.md, section 2.4.
//
// Deviations:
// - Eigenvectors sign-fixed (Spectrum.Decompose) for a deterministic rotation; the paper's Fig. 4 instead negates
//   rows with a negative diagonal. mean λ is floored at Spectrum.AbsoluteFloor (a constant teacher).
// - For C without a Hadamard construction the seeded orthogonal fallback is used; the per-dimension variances are
//   then only approximately equal.
// - TAO's `rotate=False` option (α·I, i.e. global standardization with a per-channel mean) is not offered.
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>PHI-S ("phi-s"): y′ = α·HUᵀ(y − μ) with α = (tr Σ / C)^{-½}.</summary>
public sealed class PhiSNormalizer : AffineFeatureNormalizer
{
    private readonly Tensor rotation;   // (C, C) float64, H

    /// <summary>An unfitted (identity) normalizer for <paramref name="channels"/>-wide features, with its fixed rotation H.</summary>
    public PhiSNormalizer(int channels) : base(FeatureNormalizers.PhiS, channels) =>
        rotation = Hadamard.CreateOrOrthogonal(channels).DetachFromDisposeScope();

    /// <summary>The rotation H (C, C) float64; owned, do not dispose.</summary>
    public Tensor Rotation => rotation;

    /// <summary>The fitted α = (tr Σ / C)^{-½}, read back from W = αHUᵀ (W·Wᵀ = α²I); 1 before fitting.</summary>
    public double Alpha
    {
        get
        {
            using var scope = NewDisposeScope();
            return Math.Sqrt(ForwardMatrix.square().sum().item<double>() / Channels);
        }
    }

    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var (values, u) = Spectrum.Decompose(moments.Covariance());                   // (C), (C, C)
        double meanValue = values.clamp_min(0).mean().item<double>();
        double phi = Math.Sqrt(Math.Max(meanValue, Spectrum.AbsoluteFloor));
        var whiten = rotation.matmul(u.t()) / phi;                                     // (C, C) αHUᵀ
        var inverse = u.matmul(rotation.t()) * phi;                                    // (C, C) φUHᵀ
        return (moments.Mean.clone(), whiten, inverse);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) rotation.Dispose();
        base.Dispose(disposing);
    }
}
