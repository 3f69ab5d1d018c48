using Condense.Language.Sparsity;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

public sealed class OneShotPrunerTests
{
    [Theory]
    [InlineData(OneShotMethod.Magnitude)]
    [InlineData(OneShotMethod.Wanda)]
    [InlineData(OneShotMethod.SparseGpt)]
    [InlineData(OneShotMethod.SparseGptNoUpdate)]
    public void Every_method_makes_every_decoder_linear_exactly_two_four(OneShotMethod method)
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var embedding = model.Model.EmbedTokens.weight!.clone();
        var (masks, _) = OneShotPruner.Prune(model, method, SparsityFixtures.RandomTokens(4, 64, 0));
        var linears = PrunableLinears.Of(model);
        Assert.Equal(5 * 7, linears.Count);
        foreach (var l in linears)
        {
            Assert.Null(TwoFour.FirstViolation(l.Weight));
            var groups = masks[l.Name].reshape(-1, 4).sum(-1);
            Assert.True((groups == 2).all().item<bool>(), l.Name);
            Assert.Equal(l.Weight.numel() / 2, (l.Weight != 0).sum().item<long>());  // no kept weight is exactly 0
        }
        Assert.True(model.Model.EmbedTokens.weight!.eq(embedding).all().item<bool>());   // embeddings stay dense
    }

    [Fact]
    public void Wanda_equals_magnitude_when_every_input_feature_has_the_same_norm()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var w = randn(16, 32);
        var magnitude = TwoFour.KeepTopTwo(w.abs());
        Assert.True(OneShotPruner.WandaMask(w, eye(32, dtype: float64) * 7.0).eq(magnitude).all().item<bool>());
        // With unequal norms it differs (the test can fail).
        var skewed = diag(linspace(0.1, 10, 32, dtype: float64));
        Assert.False(OneShotPruner.WandaMask(w, skewed).eq(magnitude).all().item<bool>());
    }

    [Fact]
    public void SparseGpt_with_update_reconstructs_a_real_layer_better_than_without_and_than_magnitude()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var linears = PrunableLinears.Of(model).Where(l => l.Layer == 1).ToList();
        var (hessians, tokens) = InputHessians.Collect(model, linears, SparsityFixtures.RandomTokens(8, 64, 1));
        Assert.Equal(8 * 64, tokens);
        foreach (var l in linears)
        {
            var w = l.Weight.detach().to_type(ScalarType.Float64);
            var h = hessians[l.Name];
            double Error(Tensor pruned)
            {
                var d = w - pruned.to_type(ScalarType.Float64);
                return d.matmul(h).mul(d).sum().item<double>();                 // ‖(W − Ŵ) X‖² = tr(ΔW H ΔWᵀ)
            }
            double magnitude = Error(l.Weight * TwoFour.KeepTopTwo(l.Weight.abs()));
            var (updated, mask) = SparseGpt.Prune(l.Weight, h, update: true);
            var (noUpdate, _) = SparseGpt.Prune(l.Weight, h, update: false);
            Assert.Null(TwoFour.FirstViolation(updated));
            Assert.True(Error(updated) < Error(noUpdate), $"{l.Name}: update {Error(updated)} vs no update {Error(noUpdate)}");
            Assert.True(Error(updated) < 0.9 * magnitude, $"{l.Name}: update {Error(updated)} vs magnitude {magnitude}");
            Assert.True((updated.ne(0) == mask.to_type(ScalarType.Bool)).all().item<bool>());
        }
    }
}
