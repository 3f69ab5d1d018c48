// Per-channel standardization of PHI-S (Ranzinger et al., arXiv:2410.01680, section 2, Table 1 "Standardize",
// as Theia and UNIC do): y′_c = (y_c − μ_c)/σ_c, Θ = diag(σ).
//
// Deviations: each variance is clamped to at least Spectrum.RelativeEpsilon times the largest channel variance
// (and Spectrum.AbsoluteFloor), so a dead channel gets a large but finite gain instead of a division by zero.
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Per-channel standardization ("std"): y′_c = (y_c − μ_c)/σ_c.</summary>
public sealed class StandardizeNormalizer(int channels) : AffineFeatureNormalizer(FeatureNormalizers.Std, channels)
{
    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var variance = Spectrum.ClampForWhitening(moments.Covariance().diagonal());   // (C)
        var sigma = variance.sqrt();                                                   // (C)
        return (moments.Mean.clone(), diag(sigma.reciprocal()), diag(sigma));
    }
}
