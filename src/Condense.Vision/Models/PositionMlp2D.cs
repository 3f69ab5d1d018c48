// FasterViT's learned absolute position embedding of a token grid (reference: NVlabs/FasterViT
// fastervit/models/faster_vit.py, PosEmbMLPSwinv1D with rank=2): an MLP `cpb_mlp` (2 -> 512 -> dim, ReLU, second
// Linear without bias) on the normalized grid coordinates (i - n//2) / (n//2), added to the tokens.
//
// State-dict names: cpb_mlp.0.weight/bias, cpb_mlp.2.weight and the buffer relative_bias (1, seq, dim).
//
// Deviations:
// - The reference reads an n x n grid from the token count (n = sqrt(seq)); here the grid is passed (h, w), so a
//   caller may use it for rectangular grids; FasterViT's callers use it exactly as the reference (square only).
// - relative_bias (the reference's "deploy" cache) stays zero and is never read; n//2 = 0 (a 1 x 1 grid, where the
//   reference divides by zero) normalizes by 1.
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Condense.Vision.Models;

/// <summary>Tokens (B, h*w, C) plus an MLP of their grid coordinates.</summary>
internal sealed class PositionMlp2D : Module<Tensor, int, int, Tensor>
{
    private readonly Sequential cpb_mlp;
    private readonly Tensor relative_bias;

    public PositionMlp2D(int dim, int seqLength, int hidden = 512) : base(nameof(PositionMlp2D))
    {
        cpb_mlp = Sequential(Linear(2, hidden, hasBias: true), ReLU(), Linear(hidden, dim, hasBias: false));
        relative_bias = zeros(1, seqLength, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, int h, int w)
    {
        using var scope = NewDisposeScope();
        Tensor Axis(int n) => (arange(n, dtype: x.dtype, device: x.device) - n / 2) / Math.Max(n / 2, 1);
        var grid = meshgrid([Axis(h), Axis(w)], indexing: "ij");
        var coords = stack([grid[0].flatten(), grid[1].flatten()], dim: 1).unsqueeze(0);   // (1, hw, 2)
        return (x + cpb_mlp.call(coords)).MoveToOuterDisposeScope();                        // (B, hw, C)
    }
}
