// The raw-MSE baseline of PHI-S (Ranzinger et al., arXiv:2410.01680, Table 1 "MSE"): targets are the teacher's
// features unchanged, μ = 0, W = Θ = I. Also the transform to use with cosine and hybrid losses, which balance
// teachers through the loss rather than the targets.
//
// Deviations: none (fitting only marks the normalizer fitted).
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>No normalization ("mse"): y′ = y.</summary>
public sealed class IdentityNormalizer(int channels) : AffineFeatureNormalizer(FeatureNormalizers.Mse, channels)
{
    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        var id = eye(Channels, dtype: ScalarType.Float64);       // (C, C)
        return (zeros(Channels, dtype: ScalarType.Float64), id, id);
    }
}
