// Fits stand-ins for removed units (see UnitReplacement), one unit at a time in forward order. Each unit's inputs
// x are collected from the network as pruned so far (earlier removed units already skipped or replaced), and its
// target is the update it would have made on those inputs, u = F(x) − x: the stand-in is fitted to the
// distribution it will actually see, as in sequential (Wanda/SparseGPT-style) pruning.
using Condense.Core.Training.Optimizers;
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Recovery technique for removed units.</summary>
public enum RecoveryKind
{
    /// <summary>Plain skip.</summary>
    None,

    /// <summary>Constant mean update (closed form).</summary>
    MeanBias,

    /// <summary>Rank-r linear adapter trained by MSE.</summary>
    Adapter,
}

/// <summary>Options of the low-rank adapter fit.</summary>
public sealed record AdapterOptions(int Rank = 8, int Steps = 300, double LearningRate = 1e-2, int Seed = 0);

/// <summary>Fits stand-in updates for removed units on calibration data.</summary>
public static class Recovery
{
    /// <summary>
    /// Installs stand-ins for the units missing from <paramref name="keep"/> into the network's replacements
    /// (clearing any earlier ones). Returns the calibration MSE of each fitted unit: (unit, skip MSE, fitted MSE).
    /// </summary>
    public static IReadOnlyList<(int Unit, double SkipMse, double FitMse)> Fit(UnitNetwork network,
        CalibrationSet data, ulong keep, RecoveryKind kind, AdapterOptions? adapter = null, int rowsPerBatch = 16)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        adapter ??= new AdapterOptions();
        foreach (var r in network.Replacements.Values) r.Dispose();
        network.Replacements.Clear();
        var fits = new List<(int, double, double)>();
        if (kind == RecoveryKind.None) return fits;
        for (int unit = 0; unit < network.Units.Count; unit++)
        {
            if ((keep & (1UL << unit)) != 0) continue;
            using var scope = NewDisposeScope();
            var (x, update) = Collect(network, data, keep, unit, rowsPerBatch);           // (M, C) each
            var mean = update.mean([0]);                                                    // (C)
            double skipMse = update.pow(2).mean().item<float>();
            UnitReplacement replacement;
            if (kind == RecoveryKind.MeanBias)
                replacement = new MeanUpdateBias(mean);
            else
            {
                manual_seed(adapter.Seed + unit);                                          // reproducible init
                var a = new LowRankAdapter((int)x.shape[1], adapter.Rank);
                a.SetBias(mean);
                Train(a, x, update, adapter);
                replacement = a;
            }
            double fitMse;
            using (no_grad()) fitMse = (replacement.call(x) - update).pow(2).mean().item<float>();
            network.Replacements[unit] = replacement;
            fits.Add((unit, skipMse, fitMse));
        }
        return fits;
    }

    /// <summary>The inputs x of <paramref name="unit"/> and its updates F(x) − x over all calibration tokens.</summary>
    private static (Tensor X, Tensor Update) Collect(UnitNetwork network, CalibrationSet data, ulong keep, int unit,
        int rowsPerBatch)
    {
        using var noGrad = no_grad();
        var xs = new List<Tensor>();
        var us = new List<Tensor>();
        for (int start = 0; start < data.Sequences; start += rowsPerBatch)
        {
            int rows = Math.Min(rowsPerBatch, data.Sequences - start);
            var tokens = data.Inputs(start, rows);
            // The forward stops mattering after this unit; run it whole for simplicity (units are cheap here).
            Tensor? cos = null, sin = null;
            using (var s = NewDisposeScope())
            {
                var (_, c, sn) = network.Embed(tokens);
                cos = c.MoveToOuterDisposeScope();
                sin = sn.MoveToOuterDisposeScope();
            }
            network.Logits(tokens, keep, (u, x, _) =>
            {
                if (u != unit) return;
                var y = network.Apply(u, x, cos, sin);
                xs.Add((x.reshape(-1, x.shape[^1])).MoveToOuterDisposeScope());
                us.Add((y - x).reshape(-1, x.shape[^1]).MoveToOuterDisposeScope());
            });
        }
        return (cat(xs, 0), cat(us, 0));
    }

    private static void Train(LowRankAdapter adapter, Tensor x, Tensor target, AdapterOptions options)
    {
        using var grad = enable_grad();
        var optimizer = new AdamW(adapter.named_parameters().Select(p => (p.name, p.parameter)), weightDecay: 0)
        {
            LearningRate = options.LearningRate,
        };
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = (adapter.call(x) - target).pow(2).mean();
            loss.backward();
            optimizer.Step();
        }
    }
}
