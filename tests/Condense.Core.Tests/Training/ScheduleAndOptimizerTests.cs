using Condense.Core.Training;
using TorchSharp;
using TorchSharp.Modules;
using CondenseAdamW = Condense.Core.Training.Optimizers.AdamW;
using CondenseLamb = Condense.Core.Training.Optimizers.Lamb;

namespace Condense.Core.Tests.Training;

public sealed class ScheduleAndOptimizerTests
{
    [Fact]
    public void CosineWarmupSchedule()
    {
        var s = new CosineWarmupSchedule(1.0, WarmupSteps: 4, TotalSteps: 104, MinLr: 0.1);
        Assert.Equal(0.25, s.At(0), 12);
        Assert.Equal(1.0, s.At(3), 12);
        Assert.Equal(1.0, s.At(4), 12);
        Assert.Equal(0.55, s.At(54), 12);   // halfway through the cosine
        Assert.Equal(0.1, s.At(104), 12);
        Assert.True(s.At(80) < s.At(60));
    }

    [Fact]
    public void AdamWMatchesLibTorchAdamW()
    {
        using var scope = torch.NewDisposeScope();
        var ours = TinyCifar.Mlp(3);
        var reference = TinyCifar.Mlp(3);
        ours.eval(); reference.eval();   // no dropout: both see the same function
        var opt = new CondenseAdamW(ours.named_parameters().Select(p => (p.name, p.parameter)), weightDecay: 0.05) { LearningRate = 1e-2 };
        // libtorch's AdamW decays every parameter; give it two groups to match our 2-D-only decay rule
        var decay = reference.named_parameters().Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var noDecay = reference.named_parameters().Where(p => p.parameter.dim() < 2).Select(p => p.parameter).ToList();
        var refOpt = torch.optim.AdamW([new AdamW.ParamGroup(decay, new AdamW.Options { weight_decay = 0.05 }), new AdamW.ParamGroup(noDecay, new AdamW.Options { weight_decay = 0 })], lr: 1e-2);
        for (int step = 0; step < 5; step++)
        {
            var batch = TinyCifar.Batch(step, 16);
            opt.ZeroGrad();
            TinyCifar.Loss(ours, batch).backward();
            opt.Step();
            refOpt.zero_grad();
            TinyCifar.Loss(reference, batch).backward();
            refOpt.step();
        }
        foreach (var ((name, a), (_, b)) in ours.named_parameters().Zip(reference.named_parameters()))
            Assert.True((a - b).abs().max().item<float>() < 1e-5f, $"{name} differs from libtorch AdamW");
    }

    [Fact]
    public void LambScalesTheAdamDirectionByTheTrustRatio()
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.tensor(new float[] { 3f, 4f, 0f, 0f }).reshape(2, 2));   // ‖p‖ = 5
        var opt = new CondenseLamb([("w", p)], weightDecay: 0.0, eps: 1e-12) { LearningRate = 0.1 };
        p.grad = torch.tensor(new float[] { 1f, -2f, 0.5f, 0f }).reshape(2, 2);
        opt.Step();
        // first step: m̂ = g, v̂ = g², so r = sign(g) (0 where g = 0): ‖r‖ = √3; trust = 5/√3
        var expected = torch.tensor(new float[] { 3f, 4f, 0f, 0f }).reshape(2, 2)
            - 0.1f * (5f / MathF.Sqrt(3f)) * torch.tensor(new float[] { 1f, -1f, 1f, 0f }).reshape(2, 2);
        Assert.True((p - expected).abs().max().item<float>() < 1e-5f);
    }
}
