// The elastic LLaMA of Flextron (Cai et al., ICML 2024, section 3.1): one set of weights, and a forward pass that takes a
// width per layer and runs only the leading units of each layer. The narrow pass slices the weights (narrow views, no
// masks), so its matmuls are really smaller; gradients of a slice flow into the shared full-size parameters, which is
// what elastic continued training needs. Embedding, final norm, classifier and depth stay fixed (Flextron v1).
//
// Per layer, with r = NHeads / NKvHeads query heads per KV head and hd the head width:
//   MLP  with k neurons:  down[:, :k] · (silu(gate[:k] · x) ⊙ up[:k] · x)
//   attention with g groups: q[: g·r·hd], k[: g·hd], v[: g·hd] rows, o[:, : g·r·hd] columns
//   ... keeping q < r query heads per group: the q leading heads of each kept group (q rows and o columns gathered)
// Keeping whole groups keeps query head h reading KV head h / r, so a narrow layer is an ordinary GQA layer; with q
// heads per group, kept head h reads KV head h / q, again ordinary GQA with q heads per KV head.
//
// The module's own forward (LlamaForCausalLM) stays the reference: at full width this pass computes the same function
// (tested to 1e-5).
using Condense.Language.Models;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.Elastic;

/// <summary>Running Minitron activation statistics of one forward or more (see <see cref="WidthImportance"/>).</summary>
public sealed class ActivationStatistics : IDisposable
{
    internal ActivationStatistics(LlamaConfig config)
    {
        Mlp = Enumerable.Range(0, config.NLayers).Select(_ => zeros(config.HiddenDim, float64)).ToArray();
        Heads = Enumerable.Range(0, config.NLayers).Select(_ => zeros(config.NHeads * config.HeadDim, float64)).ToArray();
        foreach (var t in Mlp.Concat(Heads)) t.DetachFromDisposeScope();
    }

    /// <summary>Per layer, per MLP neuron: Σ over sequences of (mean over positions of |activation|)².</summary>
    public Tensor[] Mlp { get; }

    /// <summary>Per layer, per channel of the attention output (the o_proj input): the same statistic.</summary>
    public Tensor[] Heads { get; }

    /// <summary>Sequences accumulated.</summary>
    public long Sequences { get; internal set; }

    internal static void Accumulate(Tensor into, Tensor activation)
    {
        using var scope = NewDisposeScope();
        var perSequence = activation.detach().abs().mean([1L]).to_type(float64);   // (B, units)
        // sum over dim 0 by name: a literal `sum(0)` binds to sum(ScalarType) (0 is ScalarType.Byte) and sums everything.
        into.add_(perSequence.pow(2).sum(dim: 0));                                   // (units)
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Mlp.Concat(Heads)) t.Dispose();
    }
}

/// <summary>A LLaMA whose every layer can run at a narrower width, sharing the full model's weights.</summary>
public sealed class ElasticLlama
{
    private readonly LlamaForCausalLM model;
    private readonly int rep;

    /// <summary>Wraps <paramref name="model"/> (not copied: the elastic passes read and train its parameters).</summary>
    public ElasticLlama(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Config.RemovedAttention is { Count: > 0 } || model.Config.RemovedMlp is { Count: > 0 })
            throw new ArgumentException("an elastic model needs every attention and MLP block (this one has pruned sub-layers)");
        this.model = model;
        rep = model.Config.NHeads / model.Config.NKvHeads;
    }

    /// <summary>The wrapped model (its full-width forward is the reference).</summary>
    public LlamaForCausalLM Model => model;

    /// <summary>The model's configuration.</summary>
    public LlamaConfig Config => model.Config;

    /// <summary>
    /// Logits (B, T, V) of tokens (B, T) with each layer at <paramref name="widths"/>; optionally accumulates <paramref name="stats"/>.
    /// <paramref name="gates"/> (per layer, a scalar for the attention and one for the MLP output) carry a router's
    /// straight-through gradient: their value is 1, their gradient is the sub-layer output's contribution to the loss.
    /// </summary>
    public Tensor Forward(Tensor tokens, ElasticWidths widths, ActivationStatistics? stats = null, IReadOnlyList<(Tensor Attention, Tensor Mlp)>? gates = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(widths);
        widths.Validate(Config);
        using var scope = NewDisposeScope();
        long T = tokens.shape[1];
        if (T > Config.MaxSeqLen) throw new ArgumentException($"Sequence length {T} exceeds MaxSeqLen {Config.MaxSeqLen}.");
        var body = model.Model;
        var x = body.EmbedTokens.call(tokens);                                  // (B, T, C)
        var (cos, sin) = Rope.CosSin(Config, 0, T, x.device);                   // (T, hd) each
        for (int i = 0; i < Config.NLayers; i++)
        {
            var layer = body.Layers[i];
            var a = Attention(layer.SelfAttn!, layer.InputLayerNorm!.call(x), widths.Layers[i].HeadGroups, cos, sin, stats?.Heads[i], widths.Layers[i].QueryHeads);
            x = x + (gates is null ? a : a * gates[i].Attention);
            var m = Mlp(layer.Mlp!, layer.PostAttentionLayerNorm!.call(x), widths.Layers[i].MlpNeurons, stats?.Mlp[i]);
            x = x + (gates is null ? m : m * gates[i].Mlp);
        }
        if (stats is not null) stats.Sequences += tokens.shape[0];
        return model.Logits(body.Norm.call(x)).MoveToOuterDisposeScope();     // (B, T, V)
    }

    /// <summary>SwiGLU over the first <paramref name="k"/> neurons of <paramref name="mlp"/>.</summary>
    public static Tensor Mlp(LlamaMLP mlp, Tensor x, int k, Tensor? stats = null)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        using var scope = NewDisposeScope();
        var gate = mlp.GateProj.weight!.narrow(0, 0, k);                       // (k, C)
        var up = mlp.UpProj.weight!.narrow(0, 0, k);                           // (k, C)
        var down = mlp.DownProj.weight!.narrow(1, 0, k);                       // (C, k)
        var h = functional.silu(functional.linear(x, gate)) * functional.linear(x, up);   // (B, T, k)
        if (stats is not null) ActivationStatistics.Accumulate(stats.narrow(0, 0, k), h);
        return functional.linear(h, down).MoveToOuterDisposeScope();            // (B, T, C)
    }

    /// <summary>
    /// Causal GQA attention over the first <paramref name="groups"/> KV heads of <paramref name="attn"/> and their query
    /// heads: all of them, or with <paramref name="queriesPerGroup"/> &gt; 0 the leading that many of each group.
    /// </summary>
    public Tensor Attention(LlamaAttention attn, Tensor x, int groups, Tensor cos, Tensor sin, Tensor? stats = null, int queriesPerGroup = 0)
    {
        ArgumentNullException.ThrowIfNull(attn);
        using var scope = NewDisposeScope();
        long B = x.shape[0], T = x.shape[1];
        int hd = Config.HeadDim, perGroup = queriesPerGroup == 0 ? rep : queriesPerGroup, nh = groups * perGroup;
        Tensor qWeight, oWeight;
        if (perGroup == rep)
        {
            qWeight = attn.QProj.weight!.narrow(0, 0, nh * hd);                                                       // (nh·hd, C)
            oWeight = attn.OProj.weight!.narrow(1, 0, nh * hd);                                                       // (C, nh·hd)
        }
        else
        {
            if (stats is not null) throw new ArgumentException("activation statistics are taken with whole head groups", nameof(stats));
            var channels = tensor(QueryChannels(groups, perGroup), device: x.device);                                   // (nh·hd)
            qWeight = attn.QProj.weight!.index_select(0, channels);
            oWeight = attn.OProj.weight!.index_select(1, channels);
        }
        var q = functional.linear(x, qWeight).view(B, T, nh, hd).transpose(1, 2);                                      // (B, nh, T, hd)
        var k = functional.linear(x, attn.KProj.weight!.narrow(0, 0, groups * hd)).view(B, T, groups, hd).transpose(1, 2); // (B, g, T, hd)
        var v = functional.linear(x, attn.VProj.weight!.narrow(0, 0, groups * hd)).view(B, T, groups, hd).transpose(1, 2); // (B, g, T, hd)
        q = Rope.Apply(q, cos, sin, Config.RopeLayout);
        k = Rope.Apply(k, cos, sin, Config.RopeLayout);
        var y = functional.scaled_dot_product_attention(q, LlamaAttention.RepeatKv(k, perGroup), LlamaAttention.RepeatKv(v, perGroup), is_casual: true); // (B, nh, T, hd)
        y = y.transpose(1, 2).reshape(B, T, nh * hd);                          // (B, T, nh·hd)
        if (stats is not null) ActivationStatistics.Accumulate(stats.narrow(0, 0, nh * hd), y);
        return functional.linear(y, oWeight).MoveToOuterDisposeScope();       // (B, T, C)
    }

    // The q_proj rows (o_proj columns) of the leading perGroup query heads of each of the first `groups` groups.
    private long[] QueryChannels(int groups, int perGroup)
    {
        int hd = Config.HeadDim;
        return LayerWidthPadding.QuerySlots(groups, perGroup, rep).SelectMany(slot => Enumerable.Range(slot * hd, hd)).Select(c => (long)c).ToArray();
    }

    /// <summary>
    /// The sub-network at <paramref name="widths"/> as an ordinary dense model (its own copy of the leading units'
    /// weights, per-layer widths in its config), which every LLaMA command loads and which runs only the kept units.
    /// </summary>
    public LlamaForCausalLM Extract(ElasticWidths widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        widths.Validate(Config);
        var config = widths.SubNetworkConfig(Config);
        var sub = new LlamaForCausalLM(config);
        sub.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var source = model.state_dict();
        foreach (var (name, into) in sub.state_dict())
        {
            if (LayerWidthPadding.QueryHeadRows(config, name) is { } slots)
            {
                // Leading query heads of each kept group: taken from the full layout's slots, in the sub-network's order.
                foreach (var (full, narrow) in LayerWidthPadding.QueryHeadBlocks(source[name], into, name, slots, Config.HeadDim))
                    narrow.copy_(full);
                continue;
            }
            into.copy_(LayerWidthPadding.Leading(source[name], into.shape));    // leading units (rank = index after NestedOrder)
        }
        return sub;
    }

    /// <summary>Fresh, zeroed activation statistics for this model.</summary>
    public ActivationStatistics NewStatistics() => new(Config);
}
