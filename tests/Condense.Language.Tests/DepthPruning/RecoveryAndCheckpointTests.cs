using Condense.Language.Checkpoints;
using Condense.Language.DepthPruning;
using Condense.Language.Evaluation;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.DepthPruning;

public sealed class RecoveryAndCheckpointTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"condense-depth-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Mean_bias_is_the_mean_update_and_the_adapter_fits_at_least_as_well()
    {
        using var scope = NewDisposeScope();
        using var model = NetworkGameTests.MicroModel(5);
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = NetworkGameTests.RandomData(sequences: 4, length: 12, seed: 5);
        ulong keep = net.AllUnits & ~(1UL << 2) & ~(1UL << 5);            // attn1 and mlp2 removed

        var bias = Recovery.Fit(net, data, keep, RecoveryKind.MeanBias);
        Assert.Equal([2, 5], bias.Select(f => f.Unit));
        Assert.All(bias, f => Assert.True(f.FitMse < f.SkipMse));
        // attn1's stand-in is exactly the mean of attn1's update over the calibration tokens.
        var updates = new List<Tensor>();
        using (no_grad())
        {
            var (_, cos, sin) = net.Embed(data.Inputs(0, 4));
            net.Logits(data.Inputs(0, 4), keep, (u, x, _) =>
            {
                if (u == 2) updates.Add((net.Apply(u, x, cos, sin) - x).reshape(-1, 16).MoveToOuterDisposeScope());
            });
        }
        var meanBias = (MeanUpdateBias)net.Replacements[2];
        Assert.True(meanBias.Bias.allclose(updates[0].mean([0]), rtol: 1e-4, atol: 1e-5));

        var adapter = Recovery.Fit(net, data, keep, RecoveryKind.Adapter, new AdapterOptions(Rank: 4, Steps: 200));
        for (int i = 0; i < 2; i++) Assert.True(adapter[i].FitMse <= bias[i].FitMse * 1.0001, $"{adapter[i]} vs {bias[i]}");
        var again = Recovery.Fit(net, data, keep, RecoveryKind.Adapter, new AdapterOptions(Rank: 4, Steps: 200));
        Assert.Equal(adapter, again);                                      // seeded: the same fit twice
        Assert.IsType<LowRankAdapter>(net.Replacements[5]);
        Assert.Empty(Recovery.Fit(net, data, keep, RecoveryKind.None));
        Assert.Empty(net.Replacements);
    }

    [Fact]
    public void Pruned_checkpoint_round_trips_with_its_stand_ins_and_drops_removed_weights()
    {
        using var scope = NewDisposeScope();
        using var model = NetworkGameTests.MicroModel(6);
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = NetworkGameTests.RandomData(sequences: 2, length: 10, seed: 6);
        ulong keep = net.AllUnits & ~(1UL << 0) & ~(1UL << 3);            // attn0, mlp1
        Recovery.Fit(net, data, keep, RecoveryKind.Adapter, new AdapterOptions(Rank: 2, Steps: 20));
        Recovery.Fit(net, data, keep, RecoveryKind.MeanBias);
        net.Replacements[3].Dispose();
        var adapter = new LowRankAdapter(16, 2);
        adapter.SetBias(ones(16));
        net.Replacements[3] = adapter;                                     // one of each kind
        PrunedCheckpoint.Save(dir, net, keep);

        var (loaded, loadedKeep) = PrunedCheckpoint.Load(dir);
        Assert.Equal(keep, loadedKeep);
        Assert.IsType<MeanUpdateBias>(loaded.Replacements[0]);
        Assert.IsType<LowRankAdapter>(loaded.Replacements[3]);
        var tokens = data.Inputs(0, 2);
        using var noGrad = no_grad();
        Assert.True(loaded.Logits(tokens, loadedKeep).allclose(net.Logits(tokens, keep), rtol: 1e-4, atol: 1e-4));

        // The model folder alone is a runtime checkpoint: removed sub-layers have no weights and no KV cache.
        using var plain = LlamaCheckpoint.Load(Path.Combine(dir, PrunedCheckpoint.ModelFolder));
        Assert.False(plain.Config.HasAttention(0));
        Assert.False(plain.Config.HasMlp(1));
        Assert.DoesNotContain(plain.state_dict().Keys, k => k.StartsWith("model.layers.0.self_attn", StringComparison.Ordinal));
        using var cache = plain.NewCache(1);
        Assert.Equal(2, cache.AllocatedLayers);
        // Without stand-ins, the runtime model is the network with those units skipped.
        net.Replacements.Clear();
        Assert.True(plain.call(tokens).allclose(net.Logits(tokens, keep), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void Kv_cache_shrinks_with_removed_attention()
    {
        using var scope = NewDisposeScope();
        using var model = NetworkGameTests.MicroModel(7);
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var pruned = PrunedCheckpoint.BuildPruned(net, net.AllUnits & ~1UL & ~(1UL << 4));
        var full = KvCacheMeasurement.Measure(model, [1, 5, 6], steps: 12, repeats: 1);
        var after = KvCacheMeasurement.Measure(pruned, [1, 5, 6], steps: 12, repeats: 1);
        Assert.Equal(3, full.CachedLayers);
        Assert.Equal(1, after.CachedLayers);
        Assert.Equal(2L * 3 * 2 * 32 * 4 * 4, full.CacheBytes);
        Assert.Equal(full.CacheBytes / 3, after.CacheBytes);
    }

    [Fact]
    public void Iterative_and_one_shot_orders_stay_within_the_scope()
    {
        using var scope = NewDisposeScope();
        using var model = NetworkGameTests.MicroModel(8);
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = NetworkGameTests.RandomData(sequences: 2, length: 8, seed: 8);
        var mlps = DepthPruner.Candidates(net, PruneScope.Mlp, net.AllUnits);
        Assert.Equal([1, 3, 5], mlps);
        var order = DepthPruner.IterativeOrder(net, data, ImportanceMetric.LossShapley, PruneScope.Mlp, net.AllUnits, 2,
            new ImportanceOptions(Permutations: 0));
        Assert.Equal(2, order.Distinct().Count());
        Assert.All(order, u => Assert.Contains(u, mlps));
        Assert.Equal([3, 1, 5], DepthPruner.OneShotOrder([9, 2, 9, 1, 9, 5], mlps));
        Assert.Throws<Condense.Core.InputException>(() => DepthPruner.CheckCount(4, 3, "MLP sub-layers"));
    }

    [Fact]
    public void Evaluation_matches_the_runtime_perplexity_protocol()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var docs = EvalDocuments.Load(SharedAssets.ValidTextPath, SharedModels.Tok512,
            model.Config.MaxSeqLen, maxDocuments: 12);
        var net = new UnitNetwork(model, UnitGranularity.Block);
        var mine = LmEvaluation.Evaluate(net, docs, net.AllUnits);
        var runtime = Perplexity.Evaluate(model, docs.Sequences);
        Assert.Equal(runtime.Tokens, mine.Tokens);
        Assert.Equal(runtime.Perplexity, mine.Perplexity, 3);
        Assert.InRange(mine.NarrativeAccuracy, 0.3, 0.9);
        Assert.InRange(mine.DialogueAccuracy, 0.2, 0.9);
    }
}
