// The units depth pruning removes: a whole decoder block, or one of its two residual sub-layers (attention,
// MLP). In sub-layer mode unit 2i is layer i's attention and 2i + 1 its MLP, as in the reference code.
namespace Condense.Language.DepthPruning;

/// <summary>What a unit covers.</summary>
public enum UnitKind
{
    /// <summary>A whole decoder layer (attention and MLP sub-layers).</summary>
    Block,

    /// <summary>x + attn(input_layernorm(x)).</summary>
    Attention,

    /// <summary>x + mlp(post_attention_layernorm(x)).</summary>
    Mlp,
}

/// <summary>How a network is cut into units.</summary>
public enum UnitGranularity
{
    /// <summary>One unit per decoder layer.</summary>
    Block,

    /// <summary>Two units per decoder layer: attention, then MLP.</summary>
    Sublayer,
}

/// <summary>One prunable unit of a decoder.</summary>
public sealed record DepthUnit(int Layer, UnitKind Kind)
{
    /// <summary>Short name used in tables and JSON: block3, attn3, mlp3.</summary>
    public string Name => Kind switch
    {
        UnitKind.Block => $"block{Layer}",
        UnitKind.Attention => $"attn{Layer}",
        _ => $"mlp{Layer}",
    };

    /// <summary>The units of a decoder with <paramref name="layers"/> layers, in forward order.</summary>
    public static IReadOnlyList<DepthUnit> For(int layers, UnitGranularity granularity) =>
        granularity == UnitGranularity.Block
            ? [.. Enumerable.Range(0, layers).Select(i => new DepthUnit(i, UnitKind.Block))]
            : [.. Enumerable.Range(0, layers).SelectMany(i => new[]
                { new DepthUnit(i, UnitKind.Attention), new DepthUnit(i, UnitKind.Mlp) })];
}
