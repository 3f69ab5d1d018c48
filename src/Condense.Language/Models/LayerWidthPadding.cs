// A model with per-layer widths (LlamaConfig.LayerHiddenDims / LayerKvHeads / LayerQueryHeads) written where only one
// width per model can be stored (llama2.c and GGUF files): every narrow layer is padded back to the full width with zero
// units. A zero MLP neuron (zero gate/up rows and down column) adds silu(0)·0 = 0; a zero head group (zero q/k/v rows
// and o columns) or a zero query head (zero q rows and o columns) adds nothing through o_proj. So the padded model
// computes the same function, at the full model's cost.
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
        var padded = new LlamaForCausalLM(config.WithoutLayerWidths());
        padded.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var target = padded.state_dict();
        foreach (var t in target.Values) t.zero_();
        foreach (var (name, source) in model.state_dict())
        {
            if (QueryHeadRows(config, name) is { } slots)
            {
                foreach (var (full, narrow) in QueryHeadBlocks(target[name], source, name, slots, config.HeadDim))
                    full.copy_(narrow);
                continue;
            }
            Leading(target[name], source.shape).copy_(source);
        }
        return padded;
    }

    /// <summary>
    /// Full-layout slot of each query head of a layer that keeps <paramref name="kvHeads"/> KV heads with
    /// <paramref name="perKv"/> of their <paramref name="rep"/> query heads each: narrow head h (KV head h / q, the
    /// h % q-th of its group) sits at slot (h / q)·r + h % q, where full head j reads KV head j / r.
    /// </summary>
    public static int[] QuerySlots(int kvHeads, int perKv, int rep) =>
        Enumerable.Range(0, kvHeads * perKv).Select(h => h / perKv * rep + h % perKv).ToArray();

    /// <summary>
    /// Per head of a q_proj or o_proj weight with fewer query heads per KV head: its block in the full-layout weight
    /// (at <paramref name="slots"/>, see <see cref="QueryHeadRows"/>) and in the narrow one (in order), as views.
    /// </summary>
    public static IEnumerable<(Tensor Full, Tensor Narrow)> QueryHeadBlocks(Tensor full, Tensor narrow, string name, int[] slots, int headDim)
    {
        ArgumentNullException.ThrowIfNull(full);
        ArgumentNullException.ThrowIfNull(narrow);
        ArgumentNullException.ThrowIfNull(slots);
        int dim = name.EndsWith("o_proj.weight", StringComparison.Ordinal) ? 1 : 0;   // q_proj rows, o_proj columns
        for (int h = 0; h < slots.Length; h++)
            yield return (full.narrow(dim, slots[h] * (long)headDim, headDim), narrow.narrow(dim, h * (long)headDim, headDim));
    }

    /// <summary>
    /// For a q_proj or o_proj weight of a layer that keeps fewer query heads per KV head than the full model: the full
    /// layout's head index of each of its heads; null for every other tensor.
    /// </summary>
    public static int[]? QueryHeadRows(LlamaConfig config, string name)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(name);
        if (config.LayerQueryHeads is null) return null;
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^model\.layers\.(\d+)\.self_attn\.(q|o)_proj\.weight$");
        if (!m.Success) return null;
        int layer = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int rep = config.NHeads / config.NKvHeads, kv = config.KvHeads(layer), perKv = config.QueryHeads(layer) / kv;
        return perKv == rep ? null : QuerySlots(kv, perKv, rep);
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
