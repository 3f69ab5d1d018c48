// A LLaMA decoder seen as a chain of removable residual units. Removal = skip: the unit's update is dropped
// and the residual stream passes through unchanged, or a UnitReplacement (recovery) supplies a stand-in update.
// The loop over layers lives here (not in the model) so that any subset of units can be run, activations at
// unit boundaries can be observed, and coalitions that share a prefix can share its computation.
using Condense.Language.Models;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Language.DepthPruning;

/// <summary>Runs a <see cref="LlamaForCausalLM"/> with any subset of its units kept.</summary>
public sealed class UnitNetwork
{
    private readonly LlamaForCausalLM model;
    private readonly SubLayer[] attention;
    private readonly SubLayer[] mlp;
    private readonly Module<Tensor, Tensor> finalNorm;
    private readonly Tensor outputWeight;

    /// <summary>One residual sub-layer: its norm and its body; null where the checkpoint has none (pruned).</summary>
    private sealed record SubLayer(Module<Tensor, Tensor> Norm, Module Body, bool IsAttention);

    public UnitNetwork(LlamaForCausalLM model, UnitGranularity granularity)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        Granularity = granularity;
        Config = model.Config;
        Units = DepthUnit.For(Config.NLayers, granularity);
        attention = new SubLayer[Config.NLayers];
        mlp = new SubLayer[Config.NLayers];
        for (int i = 0; i < Config.NLayers; i++)
        {
            var layer = model.Model.Layers[i];
            attention[i] = Find(layer, "input_layernorm", "self_attn", true)!;
            mlp[i] = Find(layer, "post_attention_layernorm", "mlp", false)!;
        }
        finalNorm = (Module<Tensor, Tensor>)Child(model.Model, "norm")!;
        outputWeight = Child(model, "lm_head") is TorchSharp.Modules.Linear head ? head.weight! : model.Model.EmbedTokens.weight!;
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
        var (cos, sin) = Rope.CosSin(0, tokens.shape[1], Config.HeadDim, x.device);
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
    public Tensor Head(Tensor x) => functional.linear(finalNorm.call(x), outputWeight);

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
        var update = sub.IsAttention
            ? ((Module<Tensor, Tensor, Tensor, Tensor>)sub.Body).call(h, cos, sin)
            : ((Module<Tensor, Tensor>)sub.Body).call(h);
        return x + update;                                                    // (B, T, C)
    }

    private static SubLayer? Find(Module layer, string norm, string body, bool isAttention)
    {
        var n = Child(layer, norm);
        var b = Child(layer, body);
        return n is null || b is null ? null : new SubLayer((Module<Tensor, Tensor>)n, b, isAttention);
    }

    // By state-dict name, so the loop needs nothing from the model classes beyond their Hugging Face names.
    private static Module? Child(Module parent, string name) =>
        parent.named_children().FirstOrDefault(c => c.name == name).module;
}
