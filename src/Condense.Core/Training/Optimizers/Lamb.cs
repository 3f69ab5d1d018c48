using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Core.Training.Optimizers;

/// <summary>
/// LAMB (You et al., 2020, "Large Batch Optimization for Deep Learning", arXiv:1904.00962): the Adam direction
/// plus decoupled weight decay, r = m̂/(√v̂ + ε) + wd·p, scaled per tensor by the trust ratio ‖p‖/‖r‖
/// (1 when either norm is zero): p ← p − lr · trust · r.
/// Deviations: no trust-ratio clipping and no global gradient pre-normalization (clip gradients in the trainer).
/// </summary>
public sealed class Lamb : AdamW
{
    /// <summary>LAMB over the trainable ones of <paramref name="parameters"/>, with zeroed moment estimates.</summary>
    public Lamb(IEnumerable<(string Name, Parameter Param)> parameters, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-6)
        : base(parameters, weightDecay, beta1, beta2, eps)
    {
    }

    /// <inheritdoc />
    protected override void Update(string name, Parameter param, Tensor grad, double weightDecay)
    {
        UpdateMoments(name, grad);
        var (m, v) = Moments(name);
        double bc1 = 1 - Math.Pow(Beta1, StepCount);
        double bc2 = 1 - Math.Pow(Beta2, StepCount);
        var update = (m / bc1).div_(v.sqrt().div_(Math.Sqrt(bc2)).add_(Eps));      // Adam direction
        if (weightDecay != 0) update.add_(param, alpha: weightDecay);
        var weightNorm = param.norm();
        var updateNorm = update.norm();
        // trust = ‖p‖/‖r‖ where both are positive, else 1 (kept as a tensor: no sync per parameter)
        var trust = torch.where((weightNorm > 0).logical_and(updateNorm > 0), weightNorm / updateNorm, torch.ones_like(weightNorm));
        param.sub_(update.mul_(trust.mul_(LearningRate)));
    }
}
