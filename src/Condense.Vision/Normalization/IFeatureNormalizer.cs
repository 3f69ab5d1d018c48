// The invertible target normalizations compared in PHI-S (Ranzinger et al., "PHI-S: Distribution Balancing for
// Label-Free Multi-Teacher Distillation", arXiv:2410.01680, section 2 and Table 1). Every one is affine:
//   forward  y′ = (y − μ)·Wᵀ        (the student is trained with MSE against y′)
//   inverse  y  = y′·Θᵀ + μ,  Θ = W⁻¹  (teacher space again; at inference folded into the adaptor's last Linear)
// Reference: NVIDIA TAO (nvidia_tao_pytorch, RADIO distillation loss), WhitenNormState: transform_targets,
// transform_student, modify_linear, buffers `whiten` and `inv_whiten`. Notes: /work/shared/research/radio.md,
// sections 2.3 and 2.4.
//
// Deviations: cosine and hybrid losses are loss choices, not transforms; with them use the identity ("mse").
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>An invertible affine normalization of teacher features (..., C): y′ = (y − μ)·Wᵀ, y = y′·Θᵀ + μ.</summary>
public interface IFeatureNormalizer : IDisposable
{
    /// <summary>The factory name ("mse", "global-std", "std", "pca-w", "zca", "hca", "phi-s").</summary>
    string Name { get; }

    /// <summary>Feature width C.</summary>
    int Channels { get; }

    /// <summary>False until the first <see cref="Fit"/> or <see cref="LoadState"/>; unfitted means identity.</summary>
    bool IsFitted { get; }

    /// <summary>μ (C) float64; owned by the normalizer, do not dispose.</summary>
    Tensor Mean { get; }

    /// <summary>W (C, C) float64 with y′ = (y − μ)·Wᵀ; owned by the normalizer, do not dispose.</summary>
    Tensor ForwardMatrix { get; }

    /// <summary>Θ = W⁻¹ (C, C) float64 with y = y′·Θᵀ + μ; owned by the normalizer, do not dispose.</summary>
    Tensor InverseMatrix { get; }

    /// <summary>Re-estimates μ, W and Θ from the moments (at least 2 samples, same channels).</summary>
    void Fit(RunningMoments moments);

    /// <summary>Teacher features (..., C) to the normalized target (..., C), same dtype (float64 inside).</summary>
    Tensor Forward(Tensor y);

    /// <summary>Normalized (..., C) back to teacher space (..., C), same dtype (computed in float64).</summary>
    Tensor Inverse(Tensor normalized);

    /// <summary>
    /// Rewrites <paramref name="last"/> (out = C) so that it outputs teacher space directly: W ← Θ·W, b ← Θ·b + μ.
    /// A Linear without bias can only absorb a zero mean.
    /// </summary>
    void FoldInto(Linear last);

    /// <summary>Checkpoint tensors ("mean", "whiten", "inv_whiten", "fitted"), in the caller's dispose scope.</summary>
    Dictionary<string, Tensor> State();

    /// <summary>Restores what <see cref="State"/> saved, exactly (no re-fit, so no eigenvector jitter).</summary>
    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
