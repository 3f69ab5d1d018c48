// A model with per-layer widths (LlamaConfig.LayerHiddenDims / LayerKvHeads) written where only one width per model
// can be stored (llama2.c files): every narrow layer is padded back to the full width with zero units. A zero MLP
// neuron (zero gate/up rows and down column) adds silu(0)·0 = 0; a zero head group (zero q/k/v rows and o columns)
// adds nothing through o_proj. So the padded model computes the same function, at the full model's cost.
using static TorchSharp.torch;

namespace Condense.Language.Models;

/// <summary>Pads narrow layers to full width with zeros (the same function, stored in a uniform shape).</summary>
public static class LayerWidthPadding
{
    /// <summary>A new full-width model equal in function to <paramref name="model"/> (the caller disposes it).</summary>
    public static LlamaForCausalLM PadToFullWidth(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        var padded = new LlamaForCausalLM(config with { LayerHiddenDims = null, LayerKvHeads = null });
        padded.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var target = padded.state_dict();
        foreach (var t in target.Values) t.zero_();
        foreach (var (name, source) in model.state_dict())
            Leading(target[name], source.shape).copy_(source);
        return padded;
    }

    /// <summary>The leading block of <paramref name="t"/> of <paramref name="shape"/> (a view): a narrow layer's units are the first ones.</summary>
    public static Tensor Leading(Tensor t, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(shape);
        for (int dim = 0; dim < shape.Length; dim++)
            t = t.narrow(dim, 0, shape[dim]);
        return t;
    }
}
