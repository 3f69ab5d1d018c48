// Keras Dense (keras/layers/core/dense.py): y = x @ kernel + bias with kernel (in, out), here as PyTorch's
// Linear layout weight = kernel^T (out, in).
//
// Deviations: the layer's activation (softmax in both MLPerf Tiny classifiers) is not applied; forward returns
// the logits and callers apply softmax themselves.
using Condense.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>A frozen Keras Dense layer returning pre-activation outputs (logits).</summary>
public sealed class KerasDense : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features (Keras units).</summary>
    public int OutFeatures { get; }

    /// <summary>The Keras activation that follows the logits ("softmax", "linear", ...).</summary>
    public string Activation { get; }

    /// <summary>The Dense <paramref name="layer"/> with its (in, out) kernel and bias from <paramref name="weights"/>.</summary>
    public KerasDense(KerasLayer layer, KerasWeights weights, int inFeatures) : base(layer.Name)
    {
        if (!layer.Bool("use_bias"))
            throw new InputException($"Keras layer '{layer.Name}': a Dense without bias is not supported");
        (InFeatures, OutFeatures, Activation) = (inFeatures, layer.Int("units"), layer.String("activation"));
        weight = FrozenParameter.Copy(weights.Get(layer.Name, "kernel", inFeatures, OutFeatures).t());  // (out, in)
        bias = FrozenParameter.Copy(weights.Get(layer.Name, "bias", OutFeatures));
        RegisterComponents();
    }

    // x: (B, in) -> (B, out)
    /// <inheritdoc />
    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
