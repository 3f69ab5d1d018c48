using Condense.Language.DepthPruning;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.DepthPruning;

/// <summary>Depth pruning on the real stories260K with a few calibration tokens (fast on CPU).</summary>
public sealed class Stories260KDepthTests
{
    internal static CalibrationSet Calibration(int sequences, int length)
    {
        return CalibrationSet.From(Text.TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512,
            maxTokens: sequences * (length + 1), labels: true), sequences, length, "train_partA.txt");
    }

    [Fact]
    public void Exact_shapley_over_ten_sublayers_is_efficient_and_every_unit_matters()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var net = new UnitNetwork(model, UnitGranularity.Sublayer);
        using var data = Calibration(sequences: 2, length: 48);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var importance = DepthImportance.Measure(net, data, net.AllUnits, new ImportanceOptions(Permutations: 8, SubsetsPerSample: 4));
        var elapsed = clock.Elapsed;
        var exactLoss = importance.Estimates.Single(e => e.Estimator == "exact_shapley" && e.ValueName == "loss");
        Assert.Equal(1024, exactLoss.Evaluations);
        Assert.Equal(0, exactLoss.EfficiencyGap, 6);
        Assert.True(exactLoss.Empty > exactLoss.Full + 1, $"no units: loss {exactLoss.Empty} vs full {exactLoss.Full}");
        var mc = importance.Estimates.Single(e => e.Estimator.StartsWith("permutation", StringComparison.Ordinal) && e.ValueName == "loss");
        Assert.Equal(0, mc.EfficiencyGap, 6);
        Assert.All(ImportanceMetric.All, m => Assert.Equal(10, importance.Metrics[m].Length));
        Assert.All(importance.Metrics[ImportanceMetric.Cosine], v => Assert.InRange(v, 0, 2));
        // The trained model needs its first MLP badly (it turns embeddings into something the rest can read).
        Assert.True(importance.Metrics[ImportanceMetric.LossShapley][1] > 0);
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"took {elapsed}");
    }
}
