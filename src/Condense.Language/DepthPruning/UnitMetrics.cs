// Update-based importance of each unit from one forward pass of the current network (Siddiqui et al. §2; ShortGPT's
// block influence): with x the unit's input and F(x) its output (residual included), u = F(x) − x,
//   cosine       1 − cos(x, F(x)),
//   relative_l1  ‖u‖₁ / ‖x‖₁,     relative_l2  ‖u‖₂ / ‖x‖₂,
// each per token, averaged over all calibration tokens. Removed units (not in keep) get NaN. Inputs come
// through the network as it is (already removed units skipped or replaced), as in sequential pruning.
using static TorchSharp.torch;

namespace Condense.Language.DepthPruning;

/// <summary>Cosine and relative update norms per unit.</summary>
public sealed record UpdateMetrics(double[] Cosine, double[] RelativeL1, double[] RelativeL2)
{
    /// <summary>Measures every kept unit of <paramref name="network"/> on <paramref name="data"/>.</summary>
    public static UpdateMetrics Measure(UnitNetwork network, CalibrationSet data, ulong keep, int rowsPerBatch = 16)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        int n = network.Units.Count;
        var cos = new double[n];
        var l1 = new double[n];
        var l2 = new double[n];
        using var noGrad = no_grad();
        for (int start = 0; start < data.Sequences; start += rowsPerBatch)
        {
            int rows = Math.Min(rowsPerBatch, data.Sequences - start);
            using var scope = NewDisposeScope();
            network.Logits(data.Inputs(start, rows), keep, (u, x, y) =>
            {
                using var inner = NewDisposeScope();
                var update = y - x;                                                  // (B, T, C)
                cos[u] += (1 - nn.functional.cosine_similarity(x, y, dim: -1)).sum().item<float>();
                l1[u] += (update.abs().sum(-1) / x.abs().sum(-1)).sum().item<float>();
                l2[u] += (update.norm(-1) / x.norm(-1)).sum().item<float>();
            });
        }
        double tokens = data.Sequences * (double)data.Length;
        for (int u = 0; u < n; u++)
        {
            bool kept = (keep & (1UL << u)) != 0;
            cos[u] = kept ? cos[u] / tokens : double.NaN;
            l1[u] = kept ? l1[u] / tokens : double.NaN;
            l2[u] = kept ? l2[u] / tokens : double.NaN;
        }
        return new UpdateMetrics(cos, l1, l2);
    }
}
