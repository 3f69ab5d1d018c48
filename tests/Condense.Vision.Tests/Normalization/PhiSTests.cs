using Condense.Vision.Normalization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

public sealed class PhiSTests(ITestOutputHelper output)
{
    [Fact]
    public void Real_teacher_features_get_unit_variance_in_every_dimension()
    {
        using var scope = NewDisposeScope();
        // Estimate online from 16-image batches of the 250 fitting images, freezing after the last one.
        using var estimator = new NormalizerEstimator(new PhiSNormalizer(64), updatePeriod: 4, warmupSamples: 16_000);
        var fit = RealTeacherFeatures.FitTokens();                             // (250·64, 64)
        for (long start = 0; start < fit.shape[0]; start += 16 * 64)
            estimator.Observe(fit.narrow(0, start, Math.Min(16 * 64, fit.shape[0] - start)));
        Assert.True(estimator.IsFrozen);
        Assert.Equal(fit.shape[0], estimator.Moments.Count);
        var phiS = (PhiSNormalizer)estimator.Normalizer;

        // α = (tr Σ / C)^{-½}, computed directly from the same tokens.
        var exact = fit.to_type(ScalarType.Float64);
        double alpha = Math.Pow(exact.t().cov().trace().item<double>() / 64, -0.5);
        Assert.Equal(alpha, phiS.Alpha, 9);

        // The teacher is unbalanced (per-channel variances differ 4× and more) ...
        var rawVariance = exact.var(0);                                        // (64)
        Assert.True(rawVariance.max().item<double>() > 4 * rawVariance.min().item<double>());
        // ... and PHI-S balances it: every dimension has variance 1 on the estimation data (Theorem 2.1) ...
        var variance = phiS.Forward(fit).to_type(ScalarType.Float64).var(0);  // (64)
        Assert.InRange(variance.min().item<double>(), 0.9999, 1.0001);
        Assert.InRange(variance.max().item<double>(), 0.9999, 1.0001);
        // ... and within 1 ± 0.1 on the 249 images it never saw (distribution shift between image sets).
        var heldOut = phiS.Forward(RealTeacherFeatures.HeldOutTokens()).to_type(ScalarType.Float64);
        var heldOutVariance = heldOut.var(0);                                  // (64)
        double lo = heldOutVariance.min().item<double>(), hi = heldOutVariance.max().item<double>();
        output.WriteLine($"α = {phiS.Alpha:F4}; raw per-channel variance in [{rawVariance.min().item<double>():F4}, " +
            $"{rawVariance.max().item<double>():F4}]; held-out PHI-S variance per dim in [{lo:F4}, {hi:F4}]");
        Assert.InRange(lo, 0.9, 1.1);
        Assert.InRange(hi, 0.9, 1.1);
        Assert.True(heldOut.mean([0]).abs().max().item<double>() < 0.1);

        // Close to, but not the same as, global standardization's 1/σ_g (per-channel vs scalar mean: α > 1/σ_g).
        using var global = new GlobalStandardizeNormalizer(64);
        global.Fit(estimator.Moments);
        output.WriteLine($"global standardization 1/σ_g = {1 / global.Sigma:F4}");
        Assert.True(phiS.Alpha > 1 / global.Sigma);
        Assert.True(phiS.Alpha < 2 / global.Sigma);
    }

    [Fact]
    public void Error_is_isotropic_so_normalized_mse_is_alpha_squared_times_teacher_mse()
    {
        using var scope = NewDisposeScope();
        using var moments = new RunningMoments(64);
        moments.Update(RealTeacherFeatures.FitTokens());
        using var phiS = new PhiSNormalizer(64);
        phiS.Fit(moments);
        var w = phiS.ForwardMatrix;                                            // (64, 64)
        var scaledIdentity = eye(64, dtype: ScalarType.Float64) * (phiS.Alpha * phiS.Alpha);
        Assert.True(w.matmul(w.t()).allclose(scaledIdentity, rtol: 1e-10, atol: 1e-12));
        manual_seed(3);
        var y = RealTeacherFeatures.HeldOutTokens().to_type(ScalarType.Float64);
        var prediction = y + randn_like(y) * 0.3;
        double teacherMse = (prediction - y).square().mean().item<double>();
        double normalizedMse = (phiS.Forward(prediction) - phiS.Forward(y)).square().mean().item<double>();
        Assert.Equal(phiS.Alpha * phiS.Alpha * teacherMse, normalizedMse, 9);
    }

    [Fact]
    public void Rank_deficient_teacher_stays_well_scaled_while_whitening_blows_up()
    {
        using var scope = NewDisposeScope();
        // 16 channels spanning a 4-dimensional subspace, in float32 like a real teacher's output.
        manual_seed(9);
        var basis = randn(4, 16, dtype: ScalarType.Float64);                   // (4, 16)
        Tensor Sample(int n) => (randn(n, 4, dtype: ScalarType.Float64).matmul(basis) + 5).to_type(ScalarType.Float32);
        var train = Sample(3000);                                              // (3000, 16)
        using var moments = new RunningMoments(16);
        moments.Update(train);
        double traceOverC = moments.Covariance().trace().item<double>() / 16;

        using var phiS = new PhiSNormalizer(16);
        using var pcaW = new PcaWhitenNormalizer(16);
        using var zca = new ZcaNormalizer(16);
        foreach (var n in new IFeatureNormalizer[] { phiS, pcaW, zca }) n.Fit(moments);

        var normalized = phiS.Forward(train).to_type(ScalarType.Float64);
        Assert.True(normalized.isfinite().all().item<bool>());
        Assert.InRange(normalized.var(0).min().item<double>(), 0.95, 1.05);
        Assert.InRange(normalized.var(0).max().item<double>(), 0.95, 1.05);
        Assert.Equal(Math.Pow(traceOverC, -0.5), phiS.Alpha, 9);

        // Largest gain of the forward map relative to α: 1 for PHI-S (a scaled rotation), huge for whitening.
        double Gain(IFeatureNormalizer n) => linalg.matrix_norm(n.ForwardMatrix, 2).item<double>() / phiS.Alpha;
        output.WriteLine($"gain / α: PHI-S {Gain(phiS):F3}, PCA-W {Gain(pcaW):E2}, ZCA {Gain(zca):E2}");
        Assert.Equal(1.0, Gain(phiS), 9);
        Assert.True(Gain(pcaW) > 1e3);
        Assert.True(Gain(zca) > 1e3);

        // A new sample with a 1% component outside the training subspace.
        var fresh = Sample(200).to_type(ScalarType.Float64);
        fresh = (fresh + randn_like(fresh) * (0.01 * Math.Sqrt(traceOverC))).to_type(ScalarType.Float32);
        double Peak(IFeatureNormalizer n) => n.Forward(fresh).abs().max().item<float>();
        output.WriteLine($"held-out max |y′|: PHI-S {Peak(phiS):F2}, PCA-W {Peak(pcaW):F1}, ZCA {Peak(zca):F1}");
        Assert.True(Peak(phiS) < 6);
        Assert.True(Peak(pcaW) > 10 * Peak(phiS));
        Assert.True(Peak(zca) > 10 * Peak(phiS));
    }
}
