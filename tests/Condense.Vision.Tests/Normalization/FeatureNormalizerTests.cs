using Condense.Core;
using Condense.Vision.Normalization;
using Condense.Vision.Radio;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

public sealed class FeatureNormalizerTests(ITestOutputHelper output)
{
    public static TheoryData<string> AllNames() => [.. FeatureNormalizers.Names];

    private static IFeatureNormalizer FitOn(string name, Tensor tokens)
    {
        var normalizer = FeatureNormalizers.Create(name, (int)tokens.shape[^1]);
        using var moments = new RunningMoments((int)tokens.shape[^1]);
        moments.Update(tokens);
        normalizer.Fit(moments);
        return normalizer;
    }

    // Correlated, full-rank float64 data (N, C) with distinct channel means and scales.
    private static Tensor FullRank(int n, int c, int seed)
    {
        manual_seed(seed);
        var mixing = randn(c, c, dtype: ScalarType.Float64) * linspace(0.1, 3.0, c, dtype: ScalarType.Float64);
        return randn(n, c, dtype: ScalarType.Float64).matmul(mixing) + arange(c, dtype: ScalarType.Float64);
    }

    private static Tensor Cov(Tensor x) => x.t().cov();                         // (C, C) of (N, C)

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Inverse_of_forward_is_the_identity_on_real_teacher_features(string name)
    {
        using var scope = NewDisposeScope();
        using var normalizer = FitOn(name, RealTeacherFeatures.FitTokens());
        var y = RealTeacherFeatures.Tokens.reshape(-1, 8, 64);                  // (N/8, 8, 64) float32
        var normalized = normalizer.Forward(y);
        Assert.Equal(ScalarType.Float32, normalized.dtype);
        Assert.Equal(y.shape, normalized.shape);
        var back = normalizer.Inverse(normalized);
        double error = (back - y).abs().max().item<float>();
        output.WriteLine($"{name}: max |Inverse(Forward(y)) − y| = {error:E2}, " +
            $"max |y| = {y.abs().max().item<float>()}");
        Assert.True(back.allclose(y, rtol: 1e-5, atol: 1e-5), $"{name}: round-trip error {error}");
        if (name != FeatureNormalizers.Mse)
            Assert.False(normalized.allclose(y, rtol: 1e-2, atol: 1e-2));       // it did transform
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void Folding_the_inverse_into_a_Linear_equals_the_explicit_inverse(string name)
    {
        using var scope = NewDisposeScope();
        using var normalizer = FitOn(name, RealTeacherFeatures.FitTokens());
        manual_seed(11);
        using var head = nn.Linear(16, 64);
        using var folded = nn.Linear(16, 64);
        using (no_grad())
        {
            folded.weight!.copy_(head.weight!);
            folded.bias!.copy_(head.bias!);
        }
        normalizer.FoldInto(folded);
        var x = randn(2, 10, 16);                                                // (2, 10, 16)
        using var _ = no_grad();
        var expected = normalizer.Inverse(head.call(x));                         // (2, 10, 64)
        var actual = folded.call(x);
        double scale = expected.abs().max().item<float>();
        double error = (actual - expected).abs().max().item<float>();
        output.WriteLine($"{name}: max fold error {error:E2} at output scale {scale:F3}");
        Assert.True(error <= 1e-5 * Math.Max(1, scale), $"{name}: fold error {error} at scale {scale}");
    }

    [Fact]
    public void Folding_into_an_Mlp2_head_makes_it_predict_teacher_space()
    {
        using var scope = NewDisposeScope();
        using var phiS = FitOn(FeatureNormalizers.PhiS, RealTeacherFeatures.FitTokens());
        manual_seed(12);
        using var head = new Mlp2(32, 48, 64);
        head.eval();
        var x = randn(3, 5, 32);                                                 // (3, 5, 32)
        using var _ = no_grad();
        var before = head.call(x);                                               // (3, 5, 64) PHI-S space
        var expected = phiS.Inverse(before);                                     // (3, 5, 64)
        var last = (Linear)head.named_modules().Single(m => m.name == "final.2").module;
        phiS.FoldInto(last);
        var actual = head.call(x);                                               // (3, 5, 64)
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5));
        Assert.False(actual.allclose(before, rtol: 1e-2, atol: 1e-2));
    }

    [Fact]
    public void Folding_a_nonzero_mean_needs_a_bias()
    {
        using var scope = NewDisposeScope();
        using var phiS = FitOn(FeatureNormalizers.PhiS, RealTeacherFeatures.FitTokens());
        using var noBias = nn.Linear(16, 64, hasBias: false);
        Assert.Throws<ArgumentException>(() => phiS.FoldInto(noBias));
        using var narrow = nn.Linear(16, 32);
        Assert.Throws<ArgumentException>(() => phiS.FoldInto(narrow));
        using var identity = FitOn(FeatureNormalizers.Mse, RealTeacherFeatures.FitTokens());
        var before = noBias.weight!.clone();
        identity.FoldInto(noBias);
        Assert.True(noBias.weight!.Same(before));
    }

    [Theory]
    [InlineData(FeatureNormalizers.PcaWhiten)]
    [InlineData(FeatureNormalizers.Zca)]
    [InlineData(FeatureNormalizers.Hca)]
    public void Whitening_gives_identity_covariance_on_full_rank_data(string name)
    {
        using var scope = NewDisposeScope();
        var x = FullRank(4000, 16, seed: 5);
        using var normalizer = FitOn(name, x);
        var whitened = normalizer.Forward(x);                                   // (4000, 16) float64
        var identity = eye(16, dtype: ScalarType.Float64);
        Assert.True((Cov(whitened) - identity).abs().max().item<double>() < 1e-9);
        Assert.True(whitened.mean([0]).abs().max().item<double>() < 1e-9);
        // The raw data is far from white, so the check above is not vacuous.
        Assert.True((Cov(x) - identity).abs().max().item<double>() > 1);
    }

    [Fact]
    public void Whitenings_differ_by_the_rotation_only()
    {
        using var scope = NewDisposeScope();
        var x = FullRank(3000, 16, seed: 6);
        using var pca = (PcaWhitenNormalizer)FitOn(FeatureNormalizers.PcaWhiten, x);
        using var zca = FitOn(FeatureNormalizers.Zca, x);
        using var hca = (HcaNormalizer)FitOn(FeatureNormalizers.Hca, x);
        var u = linalg.eigh(Cov(x)).Item2.flip(1);                               // (C, C), descending
        // ZCA = U·PCA-W (symmetric Σ^{-½}); HCA = H·PCA-W.
        Assert.True(zca.ForwardMatrix.allclose(zca.ForwardMatrix.t(), rtol: 0, atol: 1e-10));
        Assert.True(hca.ForwardMatrix.allclose(hca.Rotation.matmul(pca.ForwardMatrix), rtol: 0, atol: 1e-10));
        // PCA-W's rows are the principal axes, largest variance first (up to the fixed sign).
        var rowsDirection = pca.ForwardMatrix / pca.ForwardMatrix.norm(1, keepdim: true);
        Assert.True(rowsDirection.matmul(u).diagonal().abs().allclose(ones(16, dtype: ScalarType.Float64),
            rtol: 0, atol: 1e-8));
        Assert.True(pca.InverseMatrix.matmul(pca.ForwardMatrix)
            .allclose(eye(16, dtype: ScalarType.Float64), rtol: 0, atol: 1e-10));
    }

    [Fact]
    public void Standardizations_match_direct_statistics()
    {
        using var scope = NewDisposeScope();
        var x = FullRank(2000, 16, seed: 7);
        using var global = (GlobalStandardizeNormalizer)FitOn(FeatureNormalizers.GlobalStd, x);
        Assert.Equal(x.std().item<double>(), global.Sigma, 9);
        Assert.True(global.Mean.allclose(x.mean().expand(16), rtol: 0, atol: 1e-9));
        var g = global.Forward(x);
        Assert.Equal(0.0, g.mean().item<double>(), 9);
        Assert.Equal(1.0, g.std().item<double>(), 9);

        using var std = FitOn(FeatureNormalizers.Std, x);
        var s = std.Forward(x);                                                 // (N, 16)
        var variances = Cov(s).diagonal();
        Assert.True(variances.allclose(ones(16, dtype: ScalarType.Float64), rtol: 0, atol: 1e-9));
        Assert.True(std.ForwardMatrix.allclose(diag(x.std(0).reciprocal()), rtol: 0, atol: 1e-9));
        // Per-channel standardization does not decorrelate.
        Assert.True((Cov(s) - eye(16, dtype: ScalarType.Float64)).abs().max().item<double>() > 0.1);
    }

    [Fact]
    public void Factory_knows_every_name_and_lists_them_for_an_unknown_one()
    {
        using var scope = NewDisposeScope();
        foreach (var name in FeatureNormalizers.Names)
        {
            using var normalizer = FeatureNormalizers.Create(name.ToUpperInvariant(), 12);
            Assert.Equal(name, normalizer.Name);
            Assert.Equal(12, normalizer.Channels);
            Assert.False(normalizer.IsFitted);
            var y = randn(3, 12);
            Assert.True(normalizer.Forward(y).Same(y));                        // identity until fitted
        }
        Assert.Equal(7, FeatureNormalizers.Names.Count);
        var error = Assert.Throws<InputException>(() => FeatureNormalizers.Create("whiten", 12));
        Assert.Contains("'whiten'", error.Message, StringComparison.Ordinal);
        foreach (var name in FeatureNormalizers.Names) Assert.Contains(name, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureNormalizers.Create("phi-s", 0));
        using var phiS = FeatureNormalizers.Create("phi-s", 12);
        Assert.Throws<ArgumentException>(() => phiS.Forward(randn(3, 11)));
    }

    [Theory]
    [MemberData(nameof(AllNames))]
    public void State_round_trips_exactly(string name)
    {
        using var scope = NewDisposeScope();
        var x = FullRank(500, 16, seed: 8);
        using var fitted = FitOn(name, x);
        using var restored = FeatureNormalizers.Create(name, 16);
        restored.LoadState(fitted.State());
        Assert.True(restored.IsFitted);
        Assert.True(restored.Mean.Same(fitted.Mean));
        Assert.True(restored.ForwardMatrix.Same(fitted.ForwardMatrix));
        Assert.True(restored.InverseMatrix.Same(fitted.InverseMatrix));
        Assert.True(restored.Forward(x).Same(fitted.Forward(x)));

        var partial = fitted.State();
        partial.Remove("inv_whiten");
        var error = Assert.Throws<InputException>(() => restored.LoadState(partial));
        Assert.Contains("inv_whiten", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fitting_needs_matching_channels_and_two_samples()
    {
        using var scope = NewDisposeScope();
        using var phiS = FeatureNormalizers.Create(FeatureNormalizers.PhiS, 8);
        using var wrong = new RunningMoments(4);
        wrong.Update(randn(10, 4));
        Assert.Throws<ArgumentException>(() => phiS.Fit(wrong));
        using var one = new RunningMoments(8);
        one.Update(randn(1, 8));
        Assert.Throws<ArgumentException>(() => phiS.Fit(one));
        Assert.False(phiS.IsFitted);
    }
}
