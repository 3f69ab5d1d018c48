using Condense.Language.Elastic;
using Condense.Language.Text;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Elastic;

public sealed class DynamicRoutingTests
{
    [Fact]
    public void Grouped_execution_computes_what_masking_computes()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var model = new ElasticLlama(lm);
        var units = ElasticCandidates.Default.MlpUnits(lm.Config);
        manual_seed(4);
        using var routers = new DynamicMlpRouters(lm.Config.NLayers, lm.Config.Dim, units.Length);
        var tokens = TokenCorpus.FromFile(SharedModels.ValidTextPath, SharedModels.Tok512, maxTokens: 20_000).RandomWindows(2, 40, seed: 1);
        var budgets = tensor(new[] { 0.4f, 0.9f });
        var views = DynamicRouting.Views(model, units);
        using var noGrad = no_grad();
        var full = ElasticWidths.Full(lm.Config);
        var masked = DynamicRouting.Forward(model, tokens, full, routers, budgets, units, RoutedMlpMode.Masked, 1, out var usedMasked);
        var grouped = DynamicRouting.Forward(model, tokens, full, routers, budgets, units, RoutedMlpMode.Grouped, 1, out var usedGrouped, views);
        foreach (var v in views) v.Dispose();
        Assert.True((masked - grouped).abs().max().item<float>() < 1e-4);
        Assert.True(usedMasked.allclose(usedGrouped));
        Assert.True(usedMasked.max().item<float>() < 1.0f || usedMasked.min().item<float>() > 0.25f);   // a real mix of widths, not all-full
    }

    [Fact]
    public void Routers_keep_fewer_neurons_for_smaller_budgets_after_training()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var model = new ElasticLlama(lm);
        var units = ElasticCandidates.Default.MlpUnits(lm.Config);
        manual_seed(5);
        using var routers = new DynamicMlpRouters(lm.Config.NLayers, lm.Config.Dim, units.Length);
        var text = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 40_000);
        NestedOrder.Apply(lm, NestedOrder.FromImportance(lm.Config, WidthImportance.Measure(model, text.RandomWindows(8, 64, seed: 3))));
        var full = ElasticWidths.Full(lm.Config);
        var (loss, _) = DynamicRouting.Train(model, routers, units, full, text,
            new DynamicRoutingOptions { Steps = 60, BatchSize = 2, SeqLen = 32, Seed = 2, LatencyWeight = 100 });
        Assert.True(double.IsFinite(loss));
        var tokens = text.RandomWindows(2, 32, seed: 11);
        using var noGrad = no_grad();
        DynamicRouting.Forward(model, tokens, full, routers, tensor(new[] { 0.3f, 0.3f }), units, RoutedMlpMode.Masked, 1, out var low);
        DynamicRouting.Forward(model, tokens, full, routers, tensor(new[] { 1f, 1f }), units, RoutedMlpMode.Masked, 1, out var high);
        Assert.True(low.mean().item<float>() < high.mean().item<float>() - 0.2f, $"{low.mean().item<float>()} vs {high.mean().item<float>()}");
    }
}
