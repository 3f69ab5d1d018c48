// Per-layer widths of a Flextron sub-network (Cai et al., ICML 2024, section 3): how many MLP neurons and how many
// attention head groups of each decoder layer it keeps. After NestedOrder has sorted every layer by importance, width
// k means "the first k units", so a sub-network is fully described by these counts and shares its weights with the
// full model. Heads are kept in whole GQA groups (one KV head with the query heads that read it), so a narrow layer
// is still a valid grouped-query attention with fewer KV heads; optionally each kept group keeps only its leading
// query heads (the same number in every group of the layer), the finer head width of the paper's multi-head models.
using System.Globalization;
using Condense.Language.Models;

namespace Condense.Language.Elastic;

/// <summary>One layer's kept units: MLP neurons (of HiddenDim), KV head groups (of NKvHeads) and query heads per group.</summary>
/// <param name="MlpNeurons">Leading MLP neurons kept, 1 .. HiddenDim.</param>
/// <param name="HeadGroups">Leading KV heads kept, 1 .. NKvHeads.</param>
/// <param name="QueryHeads">
/// Leading query heads kept in each kept group, 1 .. NHeads / NKvHeads − 1; 0 (the default) keeps all of them, so a
/// width that keeps whole groups has one spelling.
/// </param>
public readonly record struct LayerWidth(int MlpNeurons, int HeadGroups, int QueryHeads = 0)
{
    /// <summary>Query heads per kept group, with <paramref name="perGroup"/> = NHeads / NKvHeads.</summary>
    public int QueriesPerGroup(int perGroup) => QueryHeads == 0 ? perGroup : QueryHeads;

    /// <summary>The attention part: "g" for g whole groups, "gxq" for g groups of q query heads each (a latency table's key).</summary>
    public string AttentionKey => QueryHeads == 0
        ? HeadGroups.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{HeadGroups}x{QueryHeads}");
}

/// <summary>The widths of every decoder layer of a sub-network.</summary>
public sealed record ElasticWidths(IReadOnlyList<LayerWidth> Layers)
{
    /// <summary>Every layer at its full width (a model with per-layer widths: each layer's own).</summary>
    public static ElasticWidths Full(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ElasticWidths(Enumerable.Range(0, config.NLayers).Select(i => new LayerWidth(config.MlpWidth(i), config.KvHeads(i))).ToArray());
    }

    /// <summary>Every layer at the same fraction of its own MLP neurons and head groups (rounded, at least one unit each).</summary>
    public static ElasticWidths Uniform(LlamaConfig config, double mlpFraction, double headFraction)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ElasticWidths(Enumerable.Range(0, config.NLayers)
            .Select(i => new LayerWidth(Units(config.MlpWidth(i), mlpFraction), Units(config.KvHeads(i), headFraction))).ToArray());
    }

    /// <summary>round(fraction × total), clamped to 1 .. total.</summary>
    public static int Units(int total, double fraction) => Math.Clamp((int)Math.Round(fraction * total, MidpointRounding.AwayFromZero), 1, total);

    /// <summary>Throws <see cref="ArgumentException"/> naming the layer when a width does not fit <paramref name="config"/>.</summary>
    public void Validate(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Layers.Count != config.NLayers)
            throw new ArgumentException($"widths for {Layers.Count} layers, the model has {config.NLayers}");
        for (int i = 0; i < Layers.Count; i++)
        {
            var w = Layers[i];
            if (w.MlpNeurons < 1 || w.MlpNeurons > config.MlpWidth(i))
                throw new ArgumentException($"layer {i}: {w.MlpNeurons} MLP neurons, expected 1 .. {config.MlpWidth(i)}");
            if (w.HeadGroups < 1 || w.HeadGroups > config.KvHeads(i))
                throw new ArgumentException($"layer {i}: {w.HeadGroups} head groups, expected 1 .. {config.KvHeads(i)}");
            int perGroup = config.QueryHeads(i) / config.KvHeads(i);
            if (w.QueryHeads < 0 || w.QueryHeads >= perGroup)
                throw new ArgumentException($"layer {i}: {w.QueryHeads} query heads per group, expected 0 (all {perGroup}) or 1 .. {perGroup - 1}");
        }
    }

    /// <summary>
    /// The configuration of the dense model these widths describe, from the full model's <paramref name="config"/>:
    /// per-layer MLP, KV head and (where some group keeps fewer) query head counts; none when every layer is full.
    /// </summary>
    public LlamaConfig SubNetworkConfig(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int rep = config.NHeads / config.NKvHeads;
        var sub = config with
        {
            LayerHiddenDims = Layers.Select(w => w.MlpNeurons).ToArray(),
            LayerKvHeads = Layers.Select(w => w.HeadGroups).ToArray(),
            LayerQueryHeads = Layers.Any(w => w.QueryHeads != 0) ? Layers.Select(w => w.HeadGroups * w.QueriesPerGroup(rep)).ToArray() : null,
        };
        return sub.HasLayerWidths ? sub : sub.WithoutLayerWidths();
    }

    /// <summary>Parameters in the decoder layers' linears at these widths (embeddings and norms excluded).</summary>
    public long LinearParameters(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long d = config.Dim, hd = config.HeadDim;
        int rep = config.NHeads / config.NKvHeads;
        return Layers.Sum(w => 3 * d * w.MlpNeurons + 2 * d * w.HeadGroups * w.QueriesPerGroup(rep) * hd + 2 * d * w.HeadGroups * hd);
    }

    /// <summary>
    /// Compact text, e.g. "mlp 43/86/172 groups 1/2/4" per layer, and where some group keeps fewer query heads,
    /// "queries 1/all/all" (query heads per kept group).
    /// </summary>
    public override string ToString() =>
        "mlp " + string.Join('/', Layers.Select(w => w.MlpNeurons.ToString(CultureInfo.InvariantCulture))) +
        " groups " + string.Join('/', Layers.Select(w => w.HeadGroups.ToString(CultureInfo.InvariantCulture))) +
        (Layers.Any(w => w.QueryHeads != 0)
            ? " queries " + string.Join('/', Layers.Select(w => w.QueryHeads == 0 ? "all" : w.QueryHeads.ToString(CultureInfo.InvariantCulture)))
            : "");

    /// <summary>Value equality over the layers (records compare lists by reference).</summary>
    public bool SameAs(ElasticWidths other) => other is not null && Layers.SequenceEqual(other.Layers);
}
