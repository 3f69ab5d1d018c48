// The widths each layer of an elastic model may take (Flextron section 3.1: a discrete set per layer; the issue's
// MLP {25, 50, 75, 100}% and heads in whole groups). Fractions are turned into unit counts per model: MLP neurons of
// HiddenDim, KV head groups of NKvHeads (so stories260K's 4 KV heads give 1, 2, 3 or 4 groups), and optionally query
// heads per group of NHeads / NKvHeads (stories260K's 2 per group: 0.5 gives 1). The paper's models are multi-head,
// where every head is its own group; with GQA, whole groups alone cannot go below one KV head with all its queries.
using System.Globalization;
using Condense.Core;
using Condense.Language.Models;

namespace Condense.Language.Elastic;

/// <summary>Candidate width fractions for every layer's MLP and attention.</summary>
/// <param name="MlpFractions">Fractions of HiddenDim, each in (0, 1]; the full width is always added.</param>
/// <param name="HeadFractions">Fractions of the KV head groups, each in (0, 1]; the full count is always added.</param>
/// <param name="QueryFractions">Fractions of each kept group's query heads, each in (0, 1]; null: whole groups only.</param>
public sealed record ElasticCandidates(IReadOnlyList<double> MlpFractions, IReadOnlyList<double> HeadFractions,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyList<double>? QueryFractions = null)
{
    /// <summary>MLP and heads at 25, 50, 75 and 100%.</summary>
    public static ElasticCandidates Default { get; } = new([0.25, 0.5, 0.75, 1.0], [0.25, 0.5, 0.75, 1.0]);

    /// <summary>Distinct MLP neuron counts for <paramref name="config"/>, ascending (the full width last).</summary>
    public int[] MlpUnits(LlamaConfig config) =>
        MlpFractions.Append(1.0).Select(f => ElasticWidths.Units(config.HiddenDim, f)).Distinct().Order().ToArray();

    /// <summary>Distinct KV head group counts for <paramref name="config"/>, ascending (all groups last).</summary>
    public int[] HeadUnits(LlamaConfig config) =>
        HeadFractions.Append(1.0).Select(f => ElasticWidths.Units(config.NKvHeads, f)).Distinct().Order().ToArray();

    /// <summary>
    /// Distinct query heads per kept group for <paramref name="config"/>, ascending, as <see cref="LayerWidth.QueryHeads"/>
    /// spells them: partial counts first, 0 (all of the group's query heads) last.
    /// </summary>
    public int[] QueryUnits(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int perGroup = config.NHeads / config.NKvHeads;
        return (QueryFractions ?? []).Append(1.0).Select(f => ElasticWidths.Units(perGroup, f)).Distinct().Order()
            .Select(q => q == perGroup ? 0 : q).ToArray();
    }

    /// <summary>
    /// Every attention candidate (head groups, query heads per group), as a layer width with the MLP left at 0: groups
    /// ascending, and within each the partial query counts before the whole group. With whole groups only this is
    /// <see cref="HeadUnits"/> in order.
    /// </summary>
    public LayerWidth[] AttentionUnits(LlamaConfig config) =>
        HeadUnits(config).SelectMany(g => QueryUnits(config).Select(q => new LayerWidth(0, g, q))).ToArray();

    /// <summary>Throws naming the option when a fraction is outside (0, 1].</summary>
    public void Validate(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (name, list) in new[] { ("MlpFractions", MlpFractions), ("HeadFractions", HeadFractions), ("QueryFractions", QueryFractions ?? [1.0]) })
        {
            if (list is null || list.Count == 0) throw InputException.ForOption(name, ": name at least one fraction");
            foreach (var f in list)
                if (!(f > 0 && f <= 1)) throw InputException.ForOption(name, string.Create(CultureInfo.InvariantCulture, $"{f}: each fraction must be in (0, 1]"));
        }
    }

    /// <summary>
    /// Sub-network <paramref name="index"/> of step <paramref name="step"/>: per layer an independent uniform draw of each
    /// candidate set, or with <paramref name="sameEveryLayer"/> one draw of each that every layer takes.
    /// </summary>
    public ElasticWidths Sample(LlamaConfig config, long seed, long step, int index, bool sameEveryLayer = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var mlp = MlpUnits(config);
        var heads = HeadUnits(config);
        var queries = QueryUnits(config);
        // SplitMix64 rather than Random/HashCode: the same draw on every machine and in every process (HashCode is salted per process).
        var rng = new Core.Data.SplitMix64(new Core.Data.SplitMix64((ulong)seed ^ ((ulong)step * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xD1B54A32D192ED03UL)).Next());
        var layers = new LayerWidth[config.NLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            if (sameEveryLayer && i > 0) { layers[i] = layers[0]; continue; }
            int m = mlp[rng.NextInt(mlp.Length)];
            int g = heads[rng.NextInt(heads.Length)];
            // Whole groups only: no third draw, so those runs draw exactly the sub-networks they always did.
            layers[i] = new LayerWidth(m, g, queries.Length > 1 ? queries[rng.NextInt(queries.Length)] : 0);
        }
        return new ElasticWidths(layers);
    }

    /// <summary>The narrowest sub-network: every layer at its smallest MLP width and head-group count.</summary>
    public ElasticWidths Smallest(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var layer = new LayerWidth(MlpUnits(config)[0], HeadUnits(config)[0], QueryUnits(config)[0]);
        return new ElasticWidths(Enumerable.Repeat(layer, config.NLayers).ToArray());
    }

    /// <summary>Fractions as text, e.g. "mlp 0.25,0.5,0.75,1 heads 0.25,0.5,0.75,1" (and "queries 0.5,1" when set).</summary>
    public override string ToString()
    {
        static string List(IEnumerable<double> fs) => string.Join(',', fs.Select(f => f.ToString("R", CultureInfo.InvariantCulture)));
        return $"mlp {List(MlpFractions)} heads {List(HeadFractions)}" + (QueryFractions is null ? "" : $" queries {List(QueryFractions)}");
    }
}
