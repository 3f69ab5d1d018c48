// SparseGPT for 2:4 (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in
// One-Shot", arXiv:2301.00774; reference IST-DASLab/sparsegpt, sparsegpt.py `fasterprune` with prunen=2,
// prunem=4). Columns are visited left to right in blocks of 128. At the first column of each group of 4 the
// 2 weights with the smallest OBS saliency w² / [U]_jj² are dropped, where U is the upper Cholesky factor of
// H⁻¹ (its diagonal is the sequential OBS inverse-Hessian diagonal). With the update, each pruned column's error
// is spread over the columns to its right (w -= err · U[j, j:]), first inside the block, then lazily onto the
// rest; without it (MaskLLM's prior: `hessian` method without its update-weight option) only the mask is chosen and the
// kept weights stay as they were.
//
// Deviations: H and the whole solve run in float64 (the reference uses float32); at 64-192 columns this costs
// nothing and removes any doubt about Cholesky failing on a nearly singular H.
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>SparseGPT's 2:4 pruning of one weight matrix given its input Hessian.</summary>
public static class SparseGpt
{
    /// <summary>Columns per lazy-update block (the reference's blocksize).</summary>
    public const int BlockSize = 128;

    /// <summary>
    /// Prunes <paramref name="weight"/> (out, in) to 2:4 using H = Σ x xᵀ (in, in). Returns the new weight
    /// (updated when <paramref name="update"/>, else the original weights under the chosen mask) and the mask.
    /// <paramref name="damping"/> is the fraction of mean(diag H) added to the diagonal (percdamp, 0.01).
    /// </summary>
    public static (Tensor Weight, Tensor Mask) Prune(Tensor weight, Tensor hessian, bool update, double damping = 0.01)
    {
        using var scope = NewDisposeScope();
        long rows = weight.shape[0], cols = weight.shape[1];
        var W = weight.detach().to_type(ScalarType.Float64).clone();           // (out, in)
        var H = hessian.to_type(ScalarType.Float64).clone();                   // (in, in)

        // Dead inputs (never non-zero in calibration) carry no information: weight 0, unit curvature.
        var dead = H.diag() == 0;
        H.diagonal().masked_fill_(dead, 1.0);
        W.masked_fill_(dead.unsqueeze(0), 0.0);
        H += eye(cols, dtype: float64) * (damping * H.diag().mean().item<double>());

        var Hinv = linalg.cholesky(linalg.inv(H)).t().contiguous();             // upper U, H⁻¹ = Uᵀ U
        if (!update)
        {
            // Without updates the weights never change, so every group's saliency is known up front.
            var noUpdateMask = TwoFour.KeepTopTwo(W.pow(2) / Hinv.diag().pow(2).unsqueeze(0));
            return ((W * noUpdateMask).to_type(weight.dtype).MoveToOuterDisposeScope(), noUpdateMask.to_type(ScalarType.Float32).MoveToOuterDisposeScope());
        }
        var mask = zeros(rows, cols, float64);

        for (long i1 = 0; i1 < cols; i1 += BlockSize)
        {
            long count = Math.Min(BlockSize, cols - i1);
            var W1 = W.narrow(1, i1, count).clone();                             // (out, count)
            var Err1 = zeros(rows, count, float64);
            var Hinv1 = Hinv.narrow(0, i1, count).narrow(1, i1, count);         // (count, count)
            var d1 = Hinv1.diag();                                              // (count)
            for (long i = 0; i < count; i++)
            {
                if (i % TwoFour.M == 0)
                {
                    var w4 = W1.narrow(1, i, TwoFour.M);                          // (out, 4)
                    var saliency = w4.pow(2) / d1.narrow(0, i, TwoFour.M).pow(2).unsqueeze(0);
                    mask.narrow(1, i1 + i, TwoFour.M).copy_(TwoFour.KeepTopTwo(saliency));
                }
                var w = W1[.., i];                                               // (out)
                var q = w * mask[.., i1 + i];
                var err = (w - q) / d1[i];                                       // (out)
                W1.narrow(1, i, count - i).sub_(err.unsqueeze(1).matmul(Hinv1[i].narrow(0, i, count - i).unsqueeze(0)));
                W1[.., i] = q;
                Err1[.., i] = err;
            }
            W.narrow(1, i1, count).copy_(W1);
            if (i1 + count < cols)
                W.narrow(1, i1 + count, cols - i1 - count)
                    .sub_(Err1.matmul(Hinv.narrow(0, i1, count).narrow(1, i1 + count, cols - i1 - count)));
        }
        var result = W * mask;
        return (result.to_type(weight.dtype).MoveToOuterDisposeScope(), mask.to_type(ScalarType.Float32).MoveToOuterDisposeScope());
    }
}
