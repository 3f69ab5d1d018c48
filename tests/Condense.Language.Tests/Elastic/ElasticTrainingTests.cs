using Condense.Core.Training;
using Condense.Language.Elastic;
using Condense.Language.Text;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Elastic;

public sealed class ElasticTrainingTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-elastic-train-");

    public void Dispose() => _temp.Dispose();

    private static double Loss(ElasticLlama model, Tensor windows, ElasticWidths widths)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long T = windows.shape[1] - 1;
        var logits = model.Forward(windows.narrow(1, 0, T), widths);
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), windows.narrow(1, 1, T).reshape(-1)).item<float>();
    }

    [Fact]
    public void Elastic_training_makes_the_narrow_widths_better_without_ruining_the_full_model()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var model = new ElasticLlama(lm);
        var train = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 60_000);
        var heldOut = TokenCorpus.FromFile(SharedModels.ValidTextPath, SharedModels.Tok512, maxTokens: 20_000).RandomWindows(8, 65, seed: 9);
        NestedOrder.Apply(lm, NestedOrder.FromImportance(lm.Config, WidthImportance.Measure(model, train.RandomWindows(16, 64, seed: 8))));
        var half = ElasticWidths.Uniform(lm.Config, 0.5, 0.5);
        var full = ElasticWidths.Full(lm.Config);
        double halfBefore = Loss(model, heldOut, half), fullBefore = Loss(model, heldOut, full);

        var result = ElasticTraining.Train(model, train, new ElasticTrainingOptions
        {
            RunDir = Path.Combine(_temp.Path, "run"), Steps = 16, BatchSize = 4, SeqLen = 64, LearningRate = 1e-4,
            Candidates = ElasticCandidates.Default, Progress = ProgressMode.None, Plots = false, CheckpointEvery = 0,
        });

        Assert.Equal(16, result.Steps);
        Assert.Equal(16L * 4 * 64, result.TokensSeen);
        double halfAfter = Loss(model, heldOut, half), fullAfter = Loss(model, heldOut, full);
        Assert.True(halfAfter < halfBefore - 0.1, $"50% width: {halfBefore:F3} -> {halfAfter:F3}; full {fullBefore:F3} -> {fullAfter:F3}");
        Assert.True(fullAfter < fullBefore + 0.1, $"full width: {fullBefore:F3} -> {fullAfter:F3}; half {halfBefore:F3} -> {halfAfter:F3}");
        Assert.True(File.Exists(Path.Combine(_temp.Path, "run", "metrics.jsonl")));
    }

    [Theory]
    [InlineData(false, "none")]
    [InlineData(true, "fixed")]
    public void An_anchored_run_distils_the_full_width_from_the_original_model(bool anchor, string teacher)
    {
        var outDir = Path.Combine(_temp.Path, anchor ? "anchored" : "plain");
        var report = ElasticJob.Train(new ElasticJobOptions
        {
            ModelPath = SharedAssets.Stories260KPath, OutDir = outDir, TrainText = SharedAssets.TrainTextPath, CalibrationWindows = 2, CalibrationSeqLen = 32,
            AnchorToOriginal = anchor,
            Training = new ElasticTrainingOptions
            {
                RunDir = "", Steps = 2, BatchSize = 2, SeqLen = 32, Candidates = ElasticCandidates.Default, Progress = ProgressMode.None, Plots = false, CheckpointEvery = 0,
            },
        });
        Assert.Equal(2, report.Training.Steps);
        var checkpoint = Directory.GetFiles(Path.Combine(outDir, "run", "checkpoints"), "*.safetensors").Single();
        Assert.Equal(teacher, TrainingCheckpoint.Configuration(checkpoint)!["teacher"]);
    }

    [Theory]
    [InlineData(1.0, null)]
    [InlineData(2.0, "2")]
    public void A_weighted_full_model_is_recorded_only_when_it_is_not_the_default(double weight, string? recorded)
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var train = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 10_000);
        var runDir = Path.Combine(_temp.Path, $"w{weight}");
        var result = ElasticTraining.Train(new ElasticLlama(lm), train, new ElasticTrainingOptions
        {
            RunDir = runDir, Steps = 1, BatchSize = 2, SeqLen = 16, FullWeight = weight,
            Candidates = ElasticCandidates.Default, Progress = ProgressMode.None, Plots = false, CheckpointEvery = 0,
        });
        Assert.True(double.IsFinite(result.FinalFullLoss));
        var configuration = TrainingCheckpoint.Configuration(Directory.GetFiles(Path.Combine(runDir, "checkpoints"), "*.safetensors").Single())!;
        Assert.Equal(recorded, configuration.GetValueOrDefault("full_weight"));   // runs from before the option still resume
        var ex = Assert.Throws<Condense.Core.InputException>(() => ElasticTraining.Train(new ElasticLlama(lm), train, new ElasticTrainingOptions
        {
            RunDir = runDir, FullWeight = 0, Candidates = ElasticCandidates.Default, Progress = ProgressMode.None,
        }));
        Assert.Contains("FullWeight", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_sandwich_rule_trains_the_narrowest_sub_network_in_place_of_the_first_random_one(bool sandwich)
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var model = new ElasticLlama(lm);
        var train = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 10_000);
        const int batch = 2, seqLen = 16;
        const long seed = 5;
        // The sub-network the first pass trains, scored on step 0's batch before the step changes the weights.
        var expected = sandwich ? ElasticCandidates.Default.Smallest(lm.Config) : ElasticCandidates.Default.Sample(lm.Config, seed, 0, 0);
        double before = Loss(model, train.RandomWindows(batch, seqLen + 1, seed, 0), expected);
        var runDir = Path.Combine(_temp.Path, sandwich ? "sandwich" : "random");
        ElasticTraining.Train(model, train, new ElasticTrainingOptions
        {
            RunDir = runDir, Steps = 1, BatchSize = batch, SeqLen = seqLen, RandomSubnetworks = 1, Sandwich = sandwich, Seed = seed,
            Candidates = ElasticCandidates.Default, Progress = ProgressMode.None, Plots = false, CheckpointEvery = 0,
        });
        double logged = MetricsLog.Read(Path.Combine(runDir, "metrics.jsonl")).Last()["lm_sub"];
        Assert.Equal(before, logged, 1e-4);
        var configuration = TrainingCheckpoint.Configuration(Directory.GetFiles(Path.Combine(runDir, "checkpoints"), "*.safetensors").Single())!;
        Assert.Equal(sandwich ? "true" : null, configuration.GetValueOrDefault("sandwich"));   // runs from before the option still resume
    }

    [Fact]
    public void The_sandwich_rule_needs_a_sub_network_to_replace_and_the_narrowest_takes_every_smallest_candidate()
    {
        using var lm = SharedModels.LoadStories260K();
        var train = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 10_000);
        var ex = Assert.Throws<Condense.Core.InputException>(() => ElasticTraining.Train(new ElasticLlama(lm), train, new ElasticTrainingOptions
        {
            RunDir = Path.Combine(_temp.Path, "none"), RandomSubnetworks = 0, Sandwich = true, Candidates = ElasticCandidates.Default, Progress = ProgressMode.None,
        }));
        Assert.Contains("Sandwich", ex.Message, StringComparison.Ordinal);
        var smallest = new ElasticCandidates([0.5, 0.75], [0.5]).Smallest(lm.Config);
        Assert.Equal(lm.Config.NLayers, smallest.Layers.Count);
        Assert.All(smallest.Layers, l => Assert.Equal(new LayerWidth(ElasticWidths.Units(lm.Config.HiddenDim, 0.5), ElasticWidths.Units(lm.Config.NKvHeads, 0.5)), l));
    }

    [Fact]
    public void Sub_networks_are_drawn_from_the_candidates_the_same_way_on_every_run()
    {
        using var lm = SharedModels.LoadStories260K();
        var c = ElasticCandidates.Default;
        Assert.Equal([43, 86, 129, 172], c.MlpUnits(lm.Config));
        Assert.Equal([1, 2, 3, 4], c.HeadUnits(lm.Config));
        var a = c.Sample(lm.Config, seed: 3, step: 7, index: 1);
        Assert.True(a.SameAs(c.Sample(lm.Config, seed: 3, step: 7, index: 1)));
        Assert.Equal("mlp 86/86/172/43/129 groups 3/1/1/4/2", a.ToString());           // fixed across machines and processes
        var draws = Enumerable.Range(0, 200).Select(s => c.Sample(lm.Config, 0, s, 0)).SelectMany(w => w.Layers).ToList();
        Assert.Equal(4, draws.Select(w => w.MlpNeurons).Distinct().Count());
        Assert.Equal(4, draws.Select(w => w.HeadGroups).Distinct().Count());
    }

    [Fact]
    public void Query_head_candidates_add_partial_groups_and_leave_whole_group_draws_unchanged()
    {
        using var lm = SharedModels.LoadStories260K();
        var c = ElasticCandidates.Default with { QueryFractions = [0.5, 1] };
        Assert.Equal([1, 0], c.QueryUnits(lm.Config));
        Assert.Equal([0], ElasticCandidates.Default.QueryUnits(lm.Config));
        Assert.Equal(["1x1", "1", "2x1", "2", "3x1", "3", "4x1", "4"], c.AttentionUnits(lm.Config).Select(a => a.AttentionKey));
        Assert.Equal(ElasticCandidates.Default.HeadUnits(lm.Config), ElasticCandidates.Default.AttentionUnits(lm.Config).Select(a => a.HeadGroups));
        Assert.All(c.Smallest(lm.Config).Layers, l => Assert.Equal(new LayerWidth(43, 1, 1), l));
        var draws = Enumerable.Range(0, 200).Select(s => c.Sample(lm.Config, 0, s, 0)).SelectMany(w => w.Layers).ToList();
        Assert.Equal([0, 1], draws.Select(w => w.QueryHeads).Distinct().Order());
        Assert.All(Enumerable.Range(0, 200).SelectMany(s => ElasticCandidates.Default.Sample(lm.Config, 0, s, 0).Layers), l => Assert.Equal(0, l.QueryHeads));
        Assert.Throws<Condense.Core.InputException>(() => (c with { QueryFractions = [0] }).Validate(lm.Config));
        Assert.Equal("mlp 0.25,0.5,0.75,1 heads 0.25,0.5,0.75,1 queries 0.5,1", c.ToString());
    }

    [Fact]
    public void A_same_width_draw_gives_every_layer_the_first_layers_per_layer_draw()
    {
        using var lm = SharedModels.LoadStories260K();
        var c = ElasticCandidates.Default;
        var draws = Enumerable.Range(0, 200).Select(s => (PerLayer: c.Sample(lm.Config, 0, s, 1), Same: c.Sample(lm.Config, 0, s, 1, sameEveryLayer: true))).ToList();
        Assert.All(draws, d =>
        {
            Assert.Equal(lm.Config.NLayers, d.Same.Layers.Count);
            Assert.All(d.Same.Layers, l => Assert.Equal(d.PerLayer.Layers[0], l));
        });
        Assert.Equal(16, draws.Select(d => d.Same.Layers[0]).Distinct().Count());   // every (MLP, heads) pair of the candidates
        Assert.Contains(draws, d => d.Same.SameAs(ElasticWidths.Uniform(lm.Config, 0.75, 0.75)));
    }

    [Fact]
    public void Same_width_draws_are_recorded_in_the_run_configuration()
    {
        using var scope = NewDisposeScope();
        using var lm = SharedModels.LoadStories260K();
        var train = TokenCorpus.FromFile(SharedAssets.TrainTextPath, SharedModels.Tok512, maxTokens: 10_000);
        var runDir = Path.Combine(_temp.Path, "same");
        ElasticTraining.Train(new ElasticLlama(lm), train, new ElasticTrainingOptions
        {
            RunDir = runDir, Steps = 1, BatchSize = 2, SeqLen = 16, SameWidthEveryLayer = true,
            Candidates = ElasticCandidates.Default, Progress = ProgressMode.None, Plots = false, CheckpointEvery = 0,
        });
        var configuration = TrainingCheckpoint.Configuration(Directory.GetFiles(Path.Combine(runDir, "checkpoints"), "*.safetensors").Single())!;
        Assert.Equal("true", configuration["same_width_every_layer"]);
    }

    [Theory]
    [InlineData(0.0, "MlpFractions 0: each fraction must be in (0, 1]")]
    [InlineData(1.5, "MlpFractions 1.5: each fraction must be in (0, 1]")]
    public void Bad_fractions_name_the_option(double fraction, string message)
    {
        using var lm = SharedModels.LoadStories260K();
        var ex = Assert.Throws<Condense.Core.InputException>(() => new ElasticCandidates([fraction], [1.0]).Validate(lm.Config));
        Assert.Equal(message, ex.Message);
    }
}
