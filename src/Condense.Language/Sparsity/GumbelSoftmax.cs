// Gumbel-softmax (Jang et al., arXiv:1611.01144; Maddison et al., arXiv:1611.00712), written here because
// TorchSharp has no functional.gumbel_softmax. MaskLLM samples its masks with the soft version
// (`hard=False`): y = softmax((logits + g) / τ), g = −log(−log U), U ~ Uniform(0, 1). As τ → 0 a sample tends to
// a one-hot vector; for every τ > 0 it is a differentiable function of the logits. The noise comes from torch's
// global generator, so seeded runs (and resumed ones, whose checkpoint holds the generator state) repeat.
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Soft Gumbel-softmax samples along the last dimension.</summary>
public static class GumbelSoftmax
{
    /// <summary>A sample of softmax((<paramref name="logits"/> + g) / <paramref name="tau"/>) along the last dimension.</summary>
    public static Tensor Sample(Tensor logits, double tau)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tau);
        using var scope = NewDisposeScope();
        // −log(Exp(1)) is Gumbel(0, 1) and avoids log(0) without clamping U.
        var g = -empty_like(logits).exponential_().log();
        return nn.functional.softmax((logits + g) / tau, -1).MoveToOuterDisposeScope();
    }
}
