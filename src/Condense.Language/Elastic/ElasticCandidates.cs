// The widths each layer of an elastic model may take (Flextron section 3.1: a discrete set per layer; the issue's
// MLP {25, 50, 75, 100}% and heads in whole groups). Fractions are turned into unit counts per model: MLP neurons of
// HiddenDim, KV head groups of NKvHeads (so stories260K's 4 KV heads give 1, 2, 3 or 4 groups).
using System.Globalization;
using Condense.Core;
using Condense.Language.Models;

namespace Condense.Language.Elastic;

/// <summary>Candidate width fractions for every layer's MLP and attention.</summary>
/// <param name="MlpFractions">Fractions of HiddenDim, each in (0, 1]; the full width is always added.</param>
/// <param name="HeadFractions">Fractions of the KV head groups, each in (0, 1]; the full count is always added.</param>
public sealed record ElasticCandidates(IReadOnlyList<double> MlpFractions, IReadOnlyList<double> HeadFractions)
{
    /// <summary>MLP and heads at 25, 50, 75 and 100%.</summary>
    public static ElasticCandidates Default { get; } = new([0.25, 0.5, 0.75, 1.0], [0.25, 0.5, 0.75, 1.0]);

    /// <summary>Distinct MLP neuron counts for <paramref name="config"/>, ascending (the full width last).</summary>
    public int[] MlpUnits(LlamaConfig config) =>
        MlpFractions.Append(1.0).Select(f => ElasticWidths.Units(config.HiddenDim, f)).Distinct().Order().ToArray();

    /// <summary>Distinct KV head group counts for <paramref name="config"/>, ascending (all groups last).</summary>
    public int[] HeadUnits(LlamaConfig config) =>
        HeadFractions.Append(1.0).Select(f => ElasticWidths.Units(config.NKvHeads, f)).Distinct().Order().ToArray();

    /// <summary>Throws naming the option when a fraction is outside (0, 1].</summary>
    public void Validate(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (name, list) in new[] { ("MlpFractions", MlpFractions), ("HeadFractions", HeadFractions) })
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
        // SplitMix64 rather than Random/HashCode: the same draw on every machine and in every process (HashCode is salted per process).
        var rng = new Core.Data.SplitMix64(new Core.Data.SplitMix64((ulong)seed ^ ((ulong)step * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xD1B54A32D192ED03UL)).Next());
        var layers = new LayerWidth[config.NLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            if (sameEveryLayer && i > 0) { layers[i] = layers[0]; continue; }
            int m = mlp[rng.NextInt(mlp.Length)];
            layers[i] = new LayerWidth(m, heads[rng.NextInt(heads.Length)]);
        }
        return new ElasticWidths(layers);
    }

    /// <summary>The narrowest sub-network: every layer at its smallest MLP width and head-group count.</summary>
    public ElasticWidths Smallest(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var layer = new LayerWidth(MlpUnits(config)[0], HeadUnits(config)[0]);
        return new ElasticWidths(Enumerable.Repeat(layer, config.NLayers).ToArray());
    }

    /// <summary>Fractions as text, e.g. "mlp 0.25,0.5,0.75,1 heads 0.25,0.5,0.75,1".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"mlp {string.Join(',', MlpFractions.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))} heads {string.Join(',', HeadFractions.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))}");
}
