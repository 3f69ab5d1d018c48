// One training step on the Condense side of `train-step`. Everything that is timed goes through TrainStep, so that
// replacing its body with a call into Condense's own training loop (Condense.Core.Training) changes what is measured
// and nothing else. The PyTorch peer's train_step does the same operations in the same order.
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Bench;

public static class CondenseStep
{
    /// <summary>Gradient-norm clipping threshold, as in the PyTorch peer.</summary>
    public const double MaxGradNorm = 1.0;

    /// <summary>zero_grad, forward, loss, backward, clip_grad_norm_(1.0), optimizer step; returns the loss.</summary>
    public static float TrainStep(IBenchModel bench, optim.Optimizer optimizer, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(bench);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var loss = bench.Loss(input, target);
        loss.backward();
        nn.utils.clip_grad_norm_(bench.Model.parameters(), MaxGradNorm);
        optimizer.step();
        return loss.ToSingle();
    }
}
