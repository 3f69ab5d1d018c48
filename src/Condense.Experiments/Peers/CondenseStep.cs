// One training step on the Condense side of `train-step`: Condense's own training loop (Trainer.TrainStep: zero
// grads, forward, loss, backward, clip_grad_norm(1.0), schedule, AdamW, all inside a dispose scope). The PyTorch
// peer's train_step does the same operations in the same order.
using Condense.Core.Training;
using static TorchSharp.torch;

namespace Condense.Experiments.Peers;

/// <summary>The Condense side of one <c>train-step</c> training step, configured like the PyTorch peer.</summary>
public static class CondenseStep
{
    /// <summary>Gradient-norm clipping threshold, as in the PyTorch peer.</summary>
    public const double MaxGradNorm = 1.0;

    /// <summary>
    /// A trainer configured like the peer: AdamW (weight decay on 2-D+ tensors, as the peer's two param groups),
    /// a constant learning rate (cosine from lr to lr), clipping at 1.0. Trainer.TrainStep writes nothing to disk.
    /// </summary>
    public static Trainer CreateTrainer(IBenchModel bench, double learningRate, double weightDecay, long steps) =>
        new(bench.Model, new TrainerOptions
        {
            RunDir = Path.Combine(Path.GetTempPath(), "condense-bench-unused"),
            MaxSteps = steps,
            LearningRate = learningRate,
            MinLearningRate = learningRate,
            WarmupSteps = 0,
            WeightDecay = weightDecay,
            GradClip = MaxGradNorm,
        });

    /// <summary>One optimizer step through Condense's training loop; returns the loss.</summary>
    public static float TrainStep(Trainer trainer, IBenchModel bench, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(bench);
        return (float)trainer.TrainStep(() => bench.Loss(input, target), (int)bench.ItemsPerBatch).Loss;
    }
}
