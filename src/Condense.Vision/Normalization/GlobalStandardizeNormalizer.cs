// Global standardization of PHI-S (Ranzinger et al., arXiv:2410.01680, section 2, Table 1 "Global Stdze"):
// one scalar mean and one scalar standard deviation over every channel and position,
//   y′ = (y − μ_g)/σ_g,   Θ = σ_g·I,   μ = μ_g·1,
//   μ_g = mean of all N·C values,  σ_g² = Σ_ic (y_ic − μ_g)² / (N·C − 1) = (tr M₂ + N·Σ_c (μ_c − μ_g)²) / (N·C − 1).
// Notes: /work/shared/research/radio.md, section 2.4 (the φ² vs σ_g² comparison).
//
// Deviations: σ_g² is floored at Spectrum.AbsoluteFloor (a constant teacher).
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Scalar standardization ("global-std"): y′ = (y − μ_g)/σ_g.</summary>
public sealed class GlobalStandardizeNormalizer(int channels)
    : AffineFeatureNormalizer(FeatureNormalizers.GlobalStd, channels)
{
    /// <summary>The fitted σ_g (1 before fitting).</summary>
    public double Sigma
    {
        get
        {
            using var scope = NewDisposeScope();
            return InverseMatrix[0, 0].item<double>();
        }
    }

    /// <inheritdoc />
    protected override (Tensor Mean, Tensor Whiten, Tensor Inverse) Solve(RunningMoments moments)
    {
        long n = moments.Count;
        var globalMean = moments.Mean.mean();                                          // ()
        var spread = moments.SumOfSquares.trace()
            + n * (moments.Mean - globalMean).square().sum();                          // ()
        double variance = Math.Max(spread.item<double>() / (n * (double)Channels - 1), Spectrum.AbsoluteFloor);
        double sigma = Math.Sqrt(variance);
        var id = eye(Channels, dtype: ScalarType.Float64);                             // (C, C)
        return (globalMean.expand(Channels).clone(), id / sigma, id * sigma);
    }
}
