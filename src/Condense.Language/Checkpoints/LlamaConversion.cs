// Moves q/k projection rows between RoPE layouts. Reference: the `permute` helper of HF's
// convert_llama_weights_to_hf.py: w.view(n_heads, hd / 2, 2, dim).transpose(1, 2).reshape(n_heads * hd, dim)
// takes Meta/llama2.c rows (pair j at rows 2j, 2j + 1) to HF rows (pair j at rows j, j + hd/2).
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Checkpoints;

/// <summary>RoPE-layout conversion of LLaMA weights.</summary>
public static class LlamaConversion
{
    /// <summary>q or k weight (nHeads * hd, C) from interleaved rows to rotate-half rows (HF's permute).</summary>
    public static Tensor InterleavedToRotateHalf(Tensor weight, int nHeads)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long rows = weight.shape[0], cols = weight.shape[1], half = rows / nHeads / 2;
        return weight.view(nHeads, half, 2, cols).transpose(1, 2).reshape(rows, cols);
    }

    /// <summary>The inverse of <see cref="InterleavedToRotateHalf"/>.</summary>
    public static Tensor RotateHalfToInterleaved(Tensor weight, int nHeads)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long rows = weight.shape[0], cols = weight.shape[1], half = rows / nHeads / 2;
        return weight.view(nHeads, 2, half, cols).transpose(1, 2).reshape(rows, cols);
    }

    /// <summary>
    /// A copy of <paramref name="model"/> in <paramref name="layout"/>: same function, q/k rows permuted
    /// (the model itself is unchanged). With the same layout it is a plain copy.
    /// </summary>
    public static LlamaForCausalLM ToLayout(LlamaForCausalLM model, RopeLayout layout)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config with { RopeLayout = layout };
        var copy = new LlamaForCausalLM(config);
        copy.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var target = copy.state_dict();
        foreach (var (name, source) in model.state_dict())
        {
            var value = source;
            if (model.Config.RopeLayout != layout)
            {
                if (RotaryHeads(config, name) is int heads)
                    value = layout == RopeLayout.RotateHalf
                        ? InterleavedToRotateHalf(source, heads)
                        : RotateHalfToInterleaved(source, heads);
            }
            target[name].copy_(value);
        }
        return copy;
    }

    /// <summary>
    /// The heads whose rows a q_proj or k_proj tensor named <paramref name="name"/> (e.g. "model.layers.3.self_attn.q_proj.weight",
    /// or its mask "model.layers.3.self_attn.q_proj") holds in <paramref name="config"/>, per layer; null for any other tensor.
    /// </summary>
    public static int? RotaryHeads(LlamaConfig config, string name)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(name);
        var m = System.Text.RegularExpressions.Regex.Match(name, @"layers\.(\d+)\.self_attn\.([qk])_proj(\.weight)?$");
        if (!m.Success) return null;
        int layer = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return m.Groups[2].Value == "q" ? config.QueryHeads(layer) : config.KvHeads(layer);
    }
}
