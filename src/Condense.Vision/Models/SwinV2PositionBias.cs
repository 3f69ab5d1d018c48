// SwinV2 continuous position bias ("log-spaced CPB", Liu et al., arXiv:2111.09883) as FasterViT and E-RADIO use it.
// Reference: NVlabs/FasterViT fastervit/models/faster_vit.py and NVlabs/RADIO radio/eradio_model.py
// (PosEmbMLPSwinv2D): a 2 -> hidden -> heads MLP `cpb_mlp` (ReLU; the second Linear has no bias) on relative
// coordinates normalized by (pretrained window - 1), scaled to [-8, 8] and log-spaced; the bias is 16 * sigmoid(.)
// gathered by relative index. With `prefix` extra tokens (FasterViT's carrier tokens) the bias is zero-padded on
// their rows and columns (the reference's ct_correct=False).
//
// State-dict names: cpb_mlp.0.weight/bias, cpb_mlp.2.weight and the buffers relative_coords_table (1, 2h-1, 2w-1, 2),
// relative_position_index (h*w, h*w) and relative_bias (1, heads, seq, seq), with the construction window.
//
// Deviations:
// - The bias is always recomputed from cpb_mlp for the window actually used (any size, also rectangular); the
//   buffers keep their construction shapes only so that state dicts match. The reference caches the result in
//   relative_bias ("deploy" mode); here relative_bias stays zero and is never read.
// - A pretrained window of 1 would divide by zero in the reference; here the normalizer is at least 1.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Relative position bias (1, heads, P + h*w, P + h*w) for attention inside an h x w window.</summary>
internal sealed class SwinV2PositionBias : Module
{
    private readonly Sequential cpb_mlp;
    private readonly Tensor relative_coords_table;
    private readonly Tensor relative_position_index;
    private readonly Tensor relative_bias;
    private readonly int numHeads;
    private readonly int pretrainedWindow;

    /// <param name="window">Window side the model is built for (also the coordinate normalizer).</param>
    /// <param name="numHeads">Attention heads (one bias per head).</param>
    /// <param name="seqLength">Tokens per window at construction, prefix tokens included (buffer shape only).</param>
    /// <param name="hidden">Hidden width of cpb_mlp (512 in FasterViT).</param>
    public SwinV2PositionBias(int window, int numHeads, int seqLength, int hidden = 512) : base(nameof(SwinV2PositionBias))
    {
        this.numHeads = numHeads;
        pretrainedWindow = window;
        cpb_mlp = Sequential(Linear(2, hidden, hasBias: true), ReLU(), Linear(hidden, numHeads, hasBias: false));
        var (table, index) = Tables(window, window, window);
        relative_coords_table = table;
        relative_position_index = index;
        relative_bias = zeros(1, numHeads, seqLength, seqLength);
        RegisterComponents();
    }

    /// <summary>The bias for an <paramref name="h"/> x <paramref name="w"/> window after <paramref name="prefix"/> tokens.</summary>
    public Tensor Bias(int h, int w, int prefix = 0)
    {
        using var scope = NewDisposeScope();
        var (table, index) = Tables(h, w, pretrainedWindow);
        var dev = cpb_mlp.parameters().First().device;
        var bias = cpb_mlp.call(table.to(dev)).view(-1, numHeads);                       // ((2h-1)(2w-1), nh)
        bias = bias.index_select(0, index.to(dev).view(-1)).view(h * w, h * w, numHeads);  // (hw, hw, nh)
        bias = 16 * sigmoid(bias.permute(2, 0, 1));                                          // (nh, hw, hw)
        if (prefix > 0) bias = functional.pad(bias, [prefix, 0, prefix, 0]);                // (nh, P+hw, P+hw)
        return bias.unsqueeze(0).MoveToOuterDisposeScope();
    }

    // Log-spaced relative coordinates (1, 2h-1, 2w-1, 2) and the relative index (h*w, h*w) of an h x w window.
    private static (Tensor Table, Tensor Index) Tables(int h, int w, int pretrained)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double norm = Math.Max(pretrained - 1, 1);
        var ch = arange(-(h - 1), h, dtype: ScalarType.Float32);
        var cw = arange(-(w - 1), w, dtype: ScalarType.Float32);
        var grid = meshgrid([ch, cw], indexing: "ij");
        var table = stack([grid[0], grid[1]], dim: -1).unsqueeze(0) / norm * 8;           // (1, 2h-1, 2w-1, 2)
        table = sign(table) * log2(table.abs() + 1) / Math.Log2(8);
        var ph = arange(h, dtype: ScalarType.Int64);
        var pw = arange(w, dtype: ScalarType.Int64);
        var coords = meshgrid([ph, pw], indexing: "ij");
        var flat = stack([coords[0].flatten(), coords[1].flatten()]);                      // (2, hw)
        var rel = flat.unsqueeze(2) - flat.unsqueeze(1);                                   // (2, hw, hw)
        var index = (rel[0] + (h - 1)) * (2 * w - 1) + (rel[1] + (w - 1));                 // (hw, hw)
        return (table.contiguous().MoveToOuterDisposeScope(), index.contiguous().MoveToOuterDisposeScope());
    }
}
