using Condense.Language.Elastic;
using Condense.Language.Text;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Elastic;

public sealed class RouterTrainingTests
{
    // A table with costs that grow with width, so the test does not depend on this machine's timings.
    private static LatencyTable SyntheticTable(int layers) => new("synthetic", 1, layers, 128, 128, new LatencyEntry(1.0, 0.2),
        new Dictionary<int, LatencyEntry> { [1] = new(0.25, 0.05), [2] = new(0.5, 0.1), [3] = new(0.75, 0.15), [4] = new(1.0, 0.2) },
        new Dictionary<int, LatencyEntry> { [43] = new(0.25, 0.05), [86] = new(0.5, 0.1), [129] = new(0.75, 0.15), [172] = new(1.0, 0.2) });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Routers_learn_to_pick_smaller_sub_networks_for_smaller_budgets(bool softSamples)
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var model = new ElasticLlama(lm);
        var text = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 40_000);
        var candidates = ElasticCandidates.Default;
        var heads = candidates.AttentionUnits(lm.Config);
        var mlps = candidates.MlpUnits(lm.Config);
        manual_seed(1);
        using var routers = new StaticRouters(lm.Config.NLayers, heads.Length, mlps.Length);
        var table = SyntheticTable(lm.Config.NLayers);

        var result = RouterTraining.Train(model, routers, candidates, table, text, new RouterTrainingOptions
        {
            SurrogateSteps = 20, RouterSteps = 60, JointSteps = 4, BatchSize = 2, SeqLen = 32, SurrogateThreshold = 10, Seed = 3, SoftSamples = softSamples,
        });

        Assert.Equal(60, result.RouterUpdates);                  // a threshold of 1000% lets every step through
        Assert.True(double.IsFinite(result.FinalJointLoss));
        double small = table.Predict(routers.Route(0.3, heads, mlps), decode: false);
        double large = table.Predict(routers.Route(1.0, heads, mlps), decode: false);
        double full = table.Predict(ElasticWidths.Full(lm.Config), decode: false);
        Assert.True(small < large, $"budget 0.3 -> {small / full:P0} of full, budget 1.0 -> {large / full:P0}");
        Assert.InRange(small / full, 0.2, 0.6);                  // the synthetic table allows 0.3 (fixed 1 of 11 ms)
    }

    [Fact]
    public void The_surrogate_gate_stops_router_updates_while_its_error_is_high()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var text = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 40_000);
        var candidates = ElasticCandidates.Default;
        using var routers = new StaticRouters(lm.Config.NLayers, 4, 4);
        var result = RouterTraining.Train(new ElasticLlama(lm), routers, candidates, SyntheticTable(lm.Config.NLayers), text, new RouterTrainingOptions
        {
            SurrogateSteps = 0, RouterSteps = 5, JointSteps = 0, BatchSize = 2, SeqLen = 16, SurrogateThreshold = 1e-9,
        });
        Assert.Equal(0, result.RouterUpdates);
        Assert.Equal(5, result.RouterSkips);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void A_full_budget_share_outside_zero_to_one_is_refused_by_name(double share)
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var text = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 4_000);
        using var routers = new StaticRouters(lm.Config.NLayers, 4, 4);
        var error = Assert.Throws<Condense.Core.InputException>(() => RouterTraining.Train(new ElasticLlama(lm), routers, ElasticCandidates.Default,
            SyntheticTable(lm.Config.NLayers), text, new RouterTrainingOptions { SurrogateSteps = 0, RouterSteps = 0, JointSteps = 0, FullBudgetShare = share }));
        Assert.Contains("FullBudgetShare", error.Message, StringComparison.Ordinal);
    }
}
