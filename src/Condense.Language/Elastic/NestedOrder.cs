// Flextron's nesting: permute every layer's units so that rank = index (most important first), after which "width k"
// means "the first k units" and all sub-networks share the full model's weights. A permutation of hidden units changes
// nothing the model computes:
// - MLP: gate_proj and up_proj rows and down_proj columns are permuted together;
// - attention: KV heads are permuted as whole groups (k_proj and v_proj row blocks), each group's query heads move
//   with it and are ordered inside it (q_proj row blocks, o_proj column blocks). RoPE acts inside each head's hd
//   channels, which are not reordered, so it commutes with the permutation.
// The permuted model equals the original up to float rounding (tested: logits to 1e-5).
using Condense.Language.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>The unit order applied to each layer (new index → old index).</summary>
/// <param name="Mlp">[layer][new neuron] = old neuron.</param>
/// <param name="Heads">[layer][new query head] = old query head.</param>
/// <param name="Groups">[layer][new KV head] = old KV head.</param>
public sealed record UnitOrder(int[][] Mlp, int[][] Heads, int[][] Groups);

/// <summary>Sorts a model's units by importance, in place.</summary>
public static class NestedOrder
{
    /// <summary>The order that puts the most important units first (ties keep the original order).</summary>
    public static UnitOrder FromImportance(LlamaConfig config, UnitImportance importance)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(importance);
        int rep = config.NHeads / config.NKvHeads;
        static int[] Descending(double[] scores) => Enumerable.Range(0, scores.Length).OrderByDescending(j => scores[j]).ThenBy(j => j).ToArray();
        var groups = importance.Groups.Select(Descending).ToArray();
        var heads = new int[config.NLayers][];
        for (int i = 0; i < config.NLayers; i++)
        {
            var layerHeads = importance.Heads[i];
            heads[i] = groups[i].SelectMany(g => Enumerable.Range(g * rep, rep).OrderByDescending(h => layerHeads[h]).ThenBy(h => h)).ToArray();
        }
        return new UnitOrder(importance.Mlp.Select(Descending).ToArray(), heads, groups);
    }

    /// <summary>Permutes <paramref name="model"/>'s weights by <paramref name="order"/>, in place.</summary>
    public static void Apply(LlamaForCausalLM model, UnitOrder order)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(order);
        var config = model.Config;
        int hd = config.HeadDim;
        using var noGrad = no_grad();
        for (int i = 0; i < config.NLayers; i++)
        {
            using var scope = NewDisposeScope();
            var layer = model.Model.Layers[i];
            var mlp = layer.Mlp ?? throw new ArgumentException($"layer {i} has no MLP to order");
            var neurons = tensor(order.Mlp[i].Select(j => (long)j).ToArray());
            Permute(mlp.GateProj, 0, neurons);
            Permute(mlp.UpProj, 0, neurons);
            Permute(mlp.DownProj, 1, neurons);
            var attn = layer.SelfAttn ?? throw new ArgumentException($"layer {i} has no attention to order");
            var queryRows = tensor(order.Heads[i].SelectMany(h => Enumerable.Range(h * hd, hd)).Select(j => (long)j).ToArray());
            var kvRows = tensor(order.Groups[i].SelectMany(g => Enumerable.Range(g * hd, hd)).Select(j => (long)j).ToArray());
            Permute(attn.QProj, 0, queryRows);
            Permute(attn.KProj, 0, kvRows);
            Permute(attn.VProj, 0, kvRows);
            Permute(attn.OProj, 1, queryRows);
        }
    }

    private static void Permute(Linear linear, int dim, Tensor index)
    {
        var weight = linear.weight!;
        weight.copy_(weight.index_select(dim, index.to(weight.device)));
    }

    /// <summary>Checks that <paramref name="order"/> keeps every query head with its KV head (throws otherwise).</summary>
    public static void Validate(LlamaConfig config, UnitOrder order)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(order);
        int rep = config.NHeads / config.NKvHeads;
        for (int i = 0; i < config.NLayers; i++)
        {
            if (!order.Mlp[i].Order().SequenceEqual(Enumerable.Range(0, config.HiddenDim)))
                throw new ArgumentException($"layer {i}: the MLP order is not a permutation of 0..{config.HiddenDim - 1}");
            if (!order.Groups[i].Order().SequenceEqual(Enumerable.Range(0, config.NKvHeads)))
                throw new ArgumentException($"layer {i}: the group order is not a permutation of 0..{config.NKvHeads - 1}");
            for (int h = 0; h < config.NHeads; h++)
                if (order.Heads[i][h] / rep != order.Groups[i][h / rep])
                    throw new ArgumentException($"layer {i}: query head {order.Heads[i][h]} left its KV head's group");
        }
    }
}
