using Condense.Language.Elastic;
using Condense.Language.Models;
using Condense.Language.Native;
using Condense.Language.Text;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Elastic;

public sealed class DynamicRoutingTests
{
    // Untrained routers (seeded) still pick a mix of widths, which is all the equivalence tests need.
    private static (ElasticLlama Model, int[] Units, DynamicMlpRouters Routers) UntrainedRouters(LlamaForCausalLM lm)
    {
        var units = ElasticCandidates.Default.MlpUnits(lm.Config);
        manual_seed(4);
        return (new ElasticLlama(lm), units, new DynamicMlpRouters(lm.Config.NLayers, lm.Config.Dim, units.Length));
    }

    [Fact]
    public void Grouped_execution_computes_what_masking_computes()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var (model, units, routers) = UntrainedRouters(lm);
        using var _ = routers;
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

    [Theory]
    [InlineData(NativeRoutedMlp.Grouped)]
    [InlineData(NativeRoutedMlp.Masked)]
    public void The_native_engine_routes_every_token_as_the_torch_forward_does(NativeRoutedMlp execution)
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var (model, units, routers) = UntrainedRouters(lm);
        using var _ = routers;
        // 100 positions: one full block of the engine and a partial one.
        var tokens = SharedModels.Tok512.Encode(File.ReadLines(SharedModels.ValidTextPath).First(l => l.Length > 600), bos: true)[..100];
        using var noGrad = no_grad();
        var reference = DynamicRouting.Forward(model, tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0), ElasticWidths.Full(lm.Config),
            routers, tensor(new[] { 0.5f }), units, RoutedMlpMode.Masked, 1, out var used);
        var expected = reference[0].data<float>().ToArray();                       // (T, V)
        int vocab = lm.Config.VocabSize;
        var engine = NativeLlama.FromModel(lm);
        engine.RouteMlps(routers.ToNative(0.5, units, execution));
        double worst = 0;
        engine.Score(tokens, (t, logits) =>
        {
            for (int i = 0; i < vocab; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[t * vocab + i]));
        });
        engine.Reset();
        for (int t = 0; t < tokens.Length; t++)
        {
            var logits = engine.Forward(tokens[t]);
            for (int i = 0; i < vocab; i++) worst = Math.Max(worst, Math.Abs(logits[i] - expected[t * vocab + i]));
        }
        Assert.InRange(worst, 0, 1e-4);
        double kept = (double)engine.RoutedNeuronsKept / engine.RoutedNeuronsTotal;
        Assert.Equal(used.item<float>(), kept, 1e-5);
        Assert.InRange(kept, (double)units[0] / lm.Config.HiddenDim + 0.05, 0.95);   // a real mix of widths
    }

    [Fact]
    public void The_native_engine_refuses_routers_that_do_not_fit_the_model()
    {
        using var lm = SharedModels.LoadStories260K();
        var units = ElasticCandidates.Default.MlpUnits(lm.Config);
        using var routers = new DynamicMlpRouters(lm.Config.NLayers - 1, lm.Config.Dim, units.Length);
        var engine = NativeLlama.FromModel(lm);
        var error = Assert.Throws<ArgumentException>(() => engine.RouteMlps(routers.ToNative(0.5, units, NativeRoutedMlp.Grouped)));
        Assert.Contains("layers", error.Message);
        using var wide = new DynamicMlpRouters(lm.Config.NLayers, lm.Config.Dim, units.Length);
        Assert.Throws<ArgumentException>(() => engine.RouteMlps(wide.ToNative(0.5, [.. units[..^1], units[^1] + 4], NativeRoutedMlp.Grouped)));
    }

    [Fact]
    public void Evaluation_names_a_decode_context_that_leaves_no_room_for_the_timed_tokens()
    {
        using var lm = SharedModels.LoadStories260K();
        var (model, units, routers) = UntrainedRouters(lm);
        using var _ = routers;
        var timing = new LatencyOptions { DecodeContext = lm.Config.MaxSeqLen - DynamicRouting.TimedDecodeTokens + 1 };
        var error = Assert.Throws<Condense.Core.InputException>(() =>
            DynamicRouting.Evaluate(model, routers, units, SharedModels.Tok512, File.ReadAllText(SharedModels.ValidTextPath), 0.5, 5, timing));
        Assert.Contains("DecodeContext", error.Message, StringComparison.Ordinal);
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
