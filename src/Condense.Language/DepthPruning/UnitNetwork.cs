// A LLaMA decoder seen as a chain of removable residual units. Removal = skip: the unit's update is dropped
// and the residual stream passes through unchanged, or a UnitReplacement (recovery) supplies a stand-in update.
// The loop over layers lives here (not in the model) so that any subset of units can be run, activations at
// unit boundaries can be observed, and coalitions that share a prefix can share its computation.
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Runs a <see cref="LlamaForCausalLM"/> with any subset of its units kept.</summary>
public sealed class UnitNetwork
{
    private readonly LlamaForCausalLM model;
    private readonly SubLayer?[] attention;
    private readonly SubLayer?[] mlp;

    /// <summary>One residual sub-layer, norm and body (attention or MLP); null where the checkpoint has none.</summary>
    private sealed record SubLayer(LlamaRMSNorm Norm, LlamaAttention? Attention, LlamaMLP? Mlp);

    /// <summary>Splits <paramref name="model"/> into units of <paramref name="granularity"/> (blocks or sub-layers).</summary>
    public UnitNetwork(LlamaForCausalLM model, UnitGranularity granularity)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        Granularity = granularity;
        Config = model.Config;
        Units = DepthUnit.For(Config.NLayers, granularity);
        attention = new SubLayer?[Config.NLayers];
        mlp = new SubLayer?[Config.NLayers];
        for (int i = 0; i < Config.NLayers; i++)
        {
            var layer = model.Model.Layers[i];
            if (layer.SelfAttn is { } attn) attention[i] = new SubLayer(layer.InputLayerNorm!, attn, null);
            if (layer.Mlp is { } m) mlp[i] = new SubLayer(layer.PostAttentionLayerNorm!, null, m);
        }
    }

    /// <summary>The wrapped model.</summary>
    public LlamaForCausalLM Model => model;

    /// <summary>The model's configuration.</summary>
    public LlamaConfig Config { get; }

    /// <summary>How the decoder is cut into units.</summary>
    public UnitGranularity Granularity { get; }

    /// <summary>The units, in forward order.</summary>
    public IReadOnlyList<DepthUnit> Units { get; }

    /// <summary>Stand-in updates for removed units (unit index → replacement), used only when the unit is removed.</summary>
    public Dictionary<int, UnitReplacement> Replacements { get; } = [];

    /// <summary>The coalition that keeps every unit.</summary>
    public ulong AllUnits => (1UL << Units.Count) - 1;

    /// <summary>Token embeddings (B, T, C) and RoPE cos/sin (T, hd) for tokens (B, T).</summary>
    public (Tensor X, Tensor Cos, Tensor Sin) Embed(Tensor tokens)
    {
        var x = model.Model.EmbedTokens.call(tokens);                          // (B, T, C)
        var (cos, sin) = Rope.CosSin(0, tokens.shape[1], Config.HeadDim, x.device, Config.RopeLayout);
        return (x, cos, sin);
    }

    /// <summary>F(x): the residual stream after unit <paramref name="unit"/> runs on x (B, T, C).</summary>
    public Tensor Apply(int unit, Tensor x, Tensor cos, Tensor sin)
    {
        var u = Units[unit];
        if (u.Kind != UnitKind.Mlp) x = Run(attention[u.Layer], x, cos, sin);
        if (u.Kind != UnitKind.Attention) x = Run(mlp[u.Layer], x, cos, sin);
        return x;
    }

    /// <summary>The residual stream after unit <paramref name="unit"/> is removed: x, or x + its replacement's update.</summary>
    public Tensor Skip(int unit, Tensor x) =>
        Replacements.TryGetValue(unit, out var r) ? x + r.call(x) : x;

    /// <summary>Logits (B, T, V) from the residual stream after the last layer (B, T, C).</summary>
    public Tensor Head(Tensor x) => model.Logits(model.Model.Norm.call(x));

    /// <summary>
    /// Logits (B, T, V) of tokens (B, T) keeping the units whose bit is set in <paramref name="keep"/>. The
    /// observer, when given, sees each unit's input x and output (kept: F(x); removed: the skip path).
    /// </summary>
    public Tensor Logits(Tensor tokens, ulong keep, Action<int, Tensor, Tensor>? observer = null)
    {
        using var scope = NewDisposeScope();
        var (x, cos, sin) = Embed(tokens);
        for (int u = 0; u < Units.Count; u++)
        {
            var y = (keep & (1UL << u)) != 0 ? Apply(u, x, cos, sin) : Skip(u, x);
            observer?.Invoke(u, x, y);
            x = y;
        }
        return Head(x).MoveToOuterDisposeScope();
    }

    /// <summary>Whether the wrapped checkpoint still has the weights of unit <paramref name="unit"/>.</summary>
    public bool HasWeights(int unit)
    {
        var u = Units[unit];
        return u.Kind switch
        {
            UnitKind.Attention => attention[u.Layer] is not null,
            UnitKind.Mlp => mlp[u.Layer] is not null,
            _ => attention[u.Layer] is not null || mlp[u.Layer] is not null,
        };
    }

    private static Tensor Run(SubLayer? sub, Tensor x, Tensor cos, Tensor sin)
    {
        if (sub is null) return x;                                            // pruned in the checkpoint itself
        var h = sub.Norm.call(x);                                             // (B, T, C)
        var update = sub.Attention is not null ? sub.Attention.call(h, cos, sin) : sub.Mlp!.call(h);
        return x + update;                                                    // (B, T, C)
    }
}
