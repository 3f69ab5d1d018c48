// The eigendecomposition shared by the PCA-based normalizers of PHI-S (Ranzinger et al., arXiv:2410.01680,
// section 2: Σ = UΛUᵀ), with the two choices the paper leaves to the implementation made explicit:
// - Determinism: eigh's eigenvectors have arbitrary signs (and TAO notes that the rotation jitters between
//   estimates). Each eigenvector is flipped so that its largest-magnitude entry is positive, the rule
//   Evaluation/FeaturePca already uses; it depends only on Σ, not on H.
// - Rank deficiency: teachers are far from full rank (PHI-S Table 6), so whitening divides by ~0 eigenvalues.
//   Whitening normalizers clamp every eigenvalue (or per-channel variance) to at least
//   RelativeEpsilon · (largest one), and to AbsoluteFloor, i.e. at most a 10⁴ gain over the strongest direction.
//   PHI-S only clamps negative round-off to 0, as the reference, and floors the mean eigenvalue.
// Reference: NVlabs/RADIO examples/common/phi_s.py (get_phi_s_matrix: eigh of the covariance, clamp e ≥ 0).
//
// Deviations:
// - Eigenvalues are returned in descending order (eigh's are ascending), so PCA-W's first output is the first
//   principal component.
// - TAO rescales Σ by 1 / median(diag Σ) before eigh; in float64 that makes no measurable difference here.
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Sign-fixed, descending eigendecomposition of a covariance, and the eigenvalue clamps.</summary>
public static class Spectrum
{
    /// <summary>Whitening clamps eigenvalues and variances to at least this fraction of the largest one.</summary>
    public const double RelativeEpsilon = 1e-8;

    /// <summary>Absolute lower bound on any variance the normalizers divide by (an all-constant teacher).</summary>
    public const double AbsoluteFloor = 1e-20;

    /// <summary>
    /// Eigenvalues λ (C), descending, and eigenvectors U (C, C) as columns with Σ = U·diag(λ)·Uᵀ, each column
    /// signed so that its largest-magnitude entry is positive. Float64, in the caller's dispose scope.
    /// </summary>
    public static (Tensor Values, Tensor Vectors) Decompose(Tensor covariance)
    {
        using var scope = NewDisposeScope();
        var sym = covariance.to_type(ScalarType.Float64);
        sym = (sym + sym.t()) * 0.5;                                       // (C, C) exactly symmetric
        var (values, vectors) = linalg.eigh(sym);                          // (C) ascending, (C, C)
        values = values.flip(0);                                           // (C) descending
        vectors = vectors.flip(1);                                         // (C, C)
        var peak = vectors.abs().argmax(0, keepdim: true);                 // (1, C)
        var signs = vectors.gather(0, peak).sign();                        // (1, C)
        signs = where(signs == 0, ones_like(signs), signs);
        return scope.MoveToOuter(values, vectors * signs);
    }

    /// <summary>λ clamped to at least max(RelativeEpsilon · max λ, AbsoluteFloor), for whitening.</summary>
    public static Tensor ClampForWhitening(Tensor values)
    {
        double top;
        using (NewDisposeScope()) top = values.max().item<double>();
        return values.clamp_min(Math.Max(RelativeEpsilon * Math.Max(top, 0), AbsoluteFloor));
    }
}
