using Condense.Core.Training;
using Condense.Language.Sparsity;
using Condense.Testing;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

public sealed class MaskLlmTrainingTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-maskllm-");

    private string _dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Prior_raises_the_one_shot_candidate_by_strength_sigma_and_soft_masks_keep_two_per_group()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var w = randn(64, 64);
        var prior = TwoFour.KeepTopTwo(w.abs());
        using var gates = new MaskGates([("lin", w.shape)]);
        var before = gates.Gate("lin").detach().clone();
        double sigma = before.std().item<float>();
        gates.InjectPrior(new Dictionary<string, Tensor> { ["lin"] = prior }, 3);
        var overlap = prior.reshape(-1, 4).matmul(TwoFour.CandidateTensor().t());     // (G, 6) in {0, 1, 2}
        var expected = before + (overlap - 1) * (3 * sigma);
        Assert.True(gates.Gate("lin").allclose(expected, 1e-6, 1e-6));
        // With N(0, 0.01) logits a +3σ/−3σ shift makes the prior the argmax of most, not all, groups.
        var agree = (gates.HardMasks()["lin"] == prior).reshape(-1, 4).all(-1).to_type(ScalarType.Float32).mean().item<float>();
        Assert.InRange(agree, 0.85f, 1f);
        var soft = gates.SoftMasks(100, 4)["lin"];
        Assert.Equal(w.shape, soft.shape);
        Assert.True(soft.reshape(-1, 4).sum(-1).allclose(full(1024, 2f), 1e-5, 1e-5));  // every candidate keeps 2
    }

    [Fact]
    public void Mask_loss_falls_over_a_few_steps_and_the_export_is_two_four()
    {
        using var scope = NewDisposeScope();
        using var model = SharedModels.LoadStories260K();
        var text = SparsityFixtures.RealText();
        var (prior, _) = OneShotPruner.Prune(model, OneShotMethod.Magnitude, null);
        using var dense = SharedModels.LoadStories260K();   // the trainer needs the dense weights back
        var result = MaskLlmTraining.Train(dense, text, prior, new MaskLlmOptions
        {
            RunDir = _dir, Steps = 16, BatchSize = 4, SeqLen = 64, LearningRate = 2e-3, Progress = ProgressMode.None,
            CheckpointEvery = 0, Plots = false,
        });
        Assert.Equal(16, result.Steps);
        double first = result.Losses.Take(4).Average(), last = result.Losses.TakeLast(4).Average();
        Assert.True(last < first - 0.05, $"LM loss {first:F3} -> {last:F3}");
        foreach (var l in PrunableLinears.Of(dense)) Assert.Null(TwoFour.FirstViolation(l.Weight));
    }

    [Fact]
    public void A_run_cancelled_mid_way_resumes_to_exactly_the_masks_of_an_uninterrupted_run()
    {
        using var scope = NewDisposeScope();
        var text = SparsityFixtures.RealText();
        MaskLlmOptions Options(string dir) => new()
        {
            RunDir = dir, Steps = 8, BatchSize = 2, SeqLen = 32, LearningRate = 2e-3, Progress = ProgressMode.None,
            CheckpointEvery = 0, Plots = false, Seed = 5,
        };
        Dictionary<string, Tensor> Prior()
        {
            using var pruned = SharedModels.LoadStories260K();
            return OneShotPruner.Prune(pruned, OneShotMethod.Magnitude, null).Masks;
        }
        Dictionary<string, Tensor> Run(MaskLlmOptions o, out long resumedFrom)
        {
            using var model = SharedModels.LoadStories260K();
            var prior = Prior();
            var r = MaskLlmTraining.Train(model, text, prior, o);
            resumedFrom = r.ResumedFromStep;
            return r.Masks;
        }

        var whole = Run(Options(Path.Combine(_dir, "whole")), out _);
        var split = Path.Combine(_dir, "split");
        using var cts = new CancellationTokenSource();
        using (var model = SharedModels.LoadStories260K())
        {
            var prior = Prior();
            Assert.Throws<OperationCanceledException>(() => MaskLlmTraining.Train(model, text, prior,
                Options(split) with { BeforeStep = s => { if (s == 3) cts.Cancel(); } }, cts.Token));
        }
        var resumed = Run(Options(split), out long from);
        Assert.Equal(4, from);
        foreach (var (name, mask) in whole) Assert.True(resumed[name].eq(mask).all().item<bool>(), name);
        var prior0 = Prior();
        Assert.True(whole.Sum(kv => (kv.Value != prior0[kv.Key]).sum().item<long>()) > 100);    // training moved masks
    }
}

/// <summary>MaskLLM's two-stage gradient (G = ∂L/∂(W ⊙ M̃), then the surrogate Σ M̃ ⊙ G ⊙ W) against plain autograd.</summary>
public sealed class MaskLlmGradientTests
{
    [Fact]
    public void Two_stage_surrogate_gradient_equals_autograd_through_the_masked_weights()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var fc1 = nn.Linear(16, 32, hasBias: false);
        using var fc2 = nn.Linear(32, 8, hasBias: false);
        var linears = new List<PrunedLinear> { new("layers.0.fc1", 0, fc1), new("layers.0.fc2", 0, fc2) };
        var frozen = linears.ToDictionary(l => l.Name, l => l.Weight.detach().clone());
        var x = randn(5, 16);
        var target = randn(5, 8);
        using var gates = new MaskGates(linears.Select(l => (l.Name, l.Weight.shape)).ToList());
        Tensor Loss(Tensor w1, Tensor w2) =>
            nn.functional.mse_loss(nn.functional.linear(nn.functional.gelu(nn.functional.linear(x, w1)), w2), target);

        // plain autograd: the masked weights are graph tensors from the gates
        manual_seed(3);
        var soft = gates.SoftMasks(scale: 50, tau: 0.7);                                    // same Gumbel noise below
        var plainLoss = Loss(frozen["layers.0.fc1"] * soft["layers.0.fc1"], frozen["layers.0.fc2"] * soft["layers.0.fc2"]);
        plainLoss.backward();
        var expected = gates.Linears.ToDictionary(n => n, n => gates.Gate(n).grad!.clone());
        gates.zero_grad();

        // two-stage: W ⊙ M̃ written into the linears' own weights, as MaskLlmTraining does
        foreach (var l in linears) l.Weight.requires_grad = true;
        manual_seed(3);
        var soft2 = gates.SoftMasks(scale: 50, tau: 0.7);
        var (loss, surrogate) = MaskLlmTraining.MaskedLossAndSurrogate(linears, frozen, soft2,
            () => nn.functional.mse_loss(fc2.call(nn.functional.gelu(fc1.call(x))), target));
        surrogate.backward();

        Assert.Equal(plainLoss.item<float>(), loss.item<float>(), 5);
        foreach (var name in gates.Linears)
        {
            var got = gates.Gate(name).grad!;
            double scale = expected[name].abs().max().item<float>();
            Assert.True(scale > 0, $"{name}: no gradient reached the gates");
            double err = (got - expected[name]).abs().max().item<float>();
            Assert.True(err <= 1e-5 * scale + 1e-9, $"{name}: max error {err:G3} (scale {scale:G3})");
        }
    }
}
