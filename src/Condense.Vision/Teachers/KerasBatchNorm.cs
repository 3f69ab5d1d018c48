// Keras BatchNormalization (keras/layers/normalization/batch_normalization.py) in inference mode:
// y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta, over the channel axis.
//
// Deviations: inference only (the teachers are frozen); the channel axis is 1 (NCHW) where Keras has 3 (NHWC);
// only center=True and scale=True, which every MLPerf Tiny BatchNormalization uses.
using Condense.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>A frozen Keras BatchNormalization with its epsilon (Keras default 1e-3, PyTorch's is 1e-5).</summary>
public sealed class KerasBatchNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter gamma;
    private readonly Parameter beta;
    private readonly Parameter moving_mean;
    private readonly Parameter moving_variance;
    private readonly double epsilon;

    /// <summary>The BatchNormalization <paramref name="layer"/> with its <paramref name="channels"/>-long gamma, beta and moving statistics from <paramref name="weights"/>.</summary>
    public KerasBatchNorm(KerasLayer layer, KerasWeights weights, int channels) : base(layer.Name)
    {
        if (!layer.Bool("center") || !layer.Bool("scale"))
            throw new InputException($"Keras layer '{layer.Name}': only center=True, scale=True is supported");
        epsilon = layer.Double("epsilon");
        gamma = FrozenParameter.Copy(weights.Get(layer.Name, "gamma", channels));
        beta = FrozenParameter.Copy(weights.Get(layer.Name, "beta", channels));
        moving_mean = FrozenParameter.Copy(weights.Get(layer.Name, "moving_mean", channels));
        moving_variance = FrozenParameter.Copy(weights.Get(layer.Name, "moving_variance", channels));
        RegisterComponents();
    }

    // x: (B, C, H, W)
    /// <inheritdoc />
    public override Tensor forward(Tensor x) =>
        nn.functional.batch_norm(x, moving_mean, moving_variance, gamma, beta, training: false, eps: epsilon);
}
