// Which units of each layer matter most, on calibration text: Minitron's activation statistic (ModelOpt's
// mcore_minitron pruning, which Flextron's nesting builds on): for MLP neuron j, imp_j = sqrt(Σ_sequences (mean over
// positions |a_j|)²), i.e. the mean over the sequence of |activation|, then the L2 norm over the batch; a is the input
// of down_proj (silu(gate x) ⊙ up x). For attention the same statistic is taken per channel of o_proj's input and
// reduced with the L2 norm over each head's channels.
//
// Heads are ranked in whole GQA groups (a KV head with the r query heads that read it), since a narrower layer must
// stay a valid GQA layer: a group's score is the L2 norm of its query heads' scores. Within a group the query heads are
// ordered by their own scores too (they share the KV head, so any order is valid); this is Condense's choice, and what
// the optional query-head widths (ElasticCandidates.QueryFractions: the leading query heads of each kept group) rely on.
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Elastic;

/// <summary>Importance of every MLP neuron, query head and KV head group, per layer (higher = more important).</summary>
/// <param name="Mlp">[layer][neuron].</param>
/// <param name="Heads">[layer][query head].</param>
/// <param name="Groups">[layer][KV head group].</param>
/// <param name="Sequences">Calibration sequences the statistic was taken over.</param>
public sealed record UnitImportance(double[][] Mlp, double[][] Heads, double[][] Groups, long Sequences);

/// <summary>Measures <see cref="UnitImportance"/> with full-width forward passes over calibration windows.</summary>
public static class WidthImportance
{
    /// <summary>
    /// Importance from <paramref name="windows"/> (N, T) of token ids, in batches of <paramref name="batch"/> sequences,
    /// without gradients.
    /// </summary>
    public static UnitImportance Measure(ElasticLlama model, Tensor windows, int batch = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(windows);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "must be at least 1");
        var config = model.Config;
        using var stats = model.NewStatistics();
        using (no_grad())
        {
            long n = windows.shape[0];
            for (long start = 0; start < n; start += batch)
            {
                using var scope = NewDisposeScope();
                model.Forward(windows.narrow(0, start, Math.Min(batch, n - start)), ElasticWidths.Full(config), stats);
            }
        }
        return FromStatistics(config, stats);
    }

    /// <summary>Scores from accumulated statistics: sqrt of the sums, heads by L2 over their channels, groups by L2 over their heads.</summary>
    public static UnitImportance FromStatistics(LlamaConfig config, ActivationStatistics stats)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stats);
        int hd = config.HeadDim, rep = config.NHeads / config.NKvHeads;
        var mlp = new double[config.NLayers][];
        var heads = new double[config.NLayers][];
        var groups = new double[config.NLayers][];
        for (int i = 0; i < config.NLayers; i++)
        {
            mlp[i] = stats.Mlp[i].data<double>().ToArray().Select(Math.Sqrt).ToArray();
            var channels = stats.Heads[i].data<double>().ToArray();                 // Σ of squares per channel
            heads[i] = Enumerable.Range(0, config.NHeads).Select(h => Math.Sqrt(channels.Skip(h * hd).Take(hd).Sum())).ToArray();
            groups[i] = Enumerable.Range(0, config.NKvHeads)
                .Select(g => Math.Sqrt(Enumerable.Range(g * rep, rep).Sum(h => heads[i][h] * heads[i][h]))).ToArray();
        }
        return new UnitImportance(mlp, heads, groups, stats.Sequences);
    }
}
