// One-shot 2:4 pruning of every decoder-layer linear (PrunableLinears), the baselines of MaskLLM's Table 1:
//  * magnitude: keep the 2 largest |W| of each group of 4;
//  * Wanda (Sun et al., arXiv:2306.11695): score |W_ij| · ‖X_j‖ with ‖X_j‖ the L2 norm of input feature j over
//    the calibration tokens, compared within each group of 4 along the input dimension (the reference's 2:4
//    branch compares `W_metric[:, ii:ii+4]`), no weight update;
//  * SparseGPT with the OBS weight update, and without it (MaskLLM's default prior).
// Input-aware methods calibrate sequentially, as both references do: layer l's statistics come from a forward
// pass of the model whose layers 0..l-1 are already pruned.
//
// Deviations: the references push cached layer inputs through one layer at a time; we rerun the whole (tiny)
// model per layer with hooks on that layer, which gives the same inputs at a few times the compute.
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>The one-shot 2:4 methods.</summary>
public enum OneShotMethod
{
    /// <summary>Keep the 2 largest |W| of each group of 4.</summary>
    Magnitude,
    /// <summary>Wanda: keep the 2 largest |W| · ‖X‖ of each group, no weight update.</summary>
    Wanda,
    /// <summary>SparseGPT with the OBS update of the kept weights.</summary>
    SparseGpt,
    /// <summary>SparseGPT's mask selection without the weight update (MaskLLM's default prior).</summary>
    SparseGptNoUpdate,
}

/// <summary>Prunes a LLaMA model's decoder linears to 2:4 in place.</summary>
public static class OneShotPruner
{
    /// <summary>
    /// Prunes every pruned linear of <paramref name="model"/> in place and returns the masks by module name.
    /// <paramref name="calibration"/> (B, T) int64 is needed by Wanda and SparseGPT; <paramref name="onLayer"/>
    /// is told after each decoder layer. Returns the masks (float 0/1, shaped like the weights) and the tokens of one calibration pass.
    /// </summary>
    public static (Dictionary<string, Tensor> Masks, long CalibrationTokens) Prune(nn.Module<Tensor, Tensor> model,
        OneShotMethod method, Tensor? calibration, Action<int>? onLayer = null, double damping = 0.01)
    {
        var linears = PrunableLinears.Of(model);
        var masks = new Dictionary<string, Tensor>();
        long tokens = 0;
        bool needsInputs = method != OneShotMethod.Magnitude;
        if (needsInputs && calibration is null)
            throw new ArgumentException($"{method} needs calibration tokens");
        foreach (var layer in linears.GroupBy(l => l.Layer).OrderBy(g => g.Key))
        {
            var group = layer.ToList();
            Dictionary<string, Tensor>? hessians = null;
            if (needsInputs)
                (hessians, tokens) = InputHessians.Collect(model, group, calibration!);
            using (no_grad())
            {
                foreach (var linear in group)
                {
                    using var scope = NewDisposeScope();
                    var w = linear.Weight;
                    Tensor mask, pruned;
                    switch (method)
                    {
                        case OneShotMethod.Magnitude:
                            mask = TwoFour.KeepTopTwo(w.abs());
                            pruned = w * mask;
                            break;
                        case OneShotMethod.Wanda:
                            mask = WandaMask(w, hessians![linear.Name]);
                            pruned = w * mask;
                            break;
                        default:
                            (pruned, mask) = SparseGpt.Prune(w, hessians![linear.Name], method == OneShotMethod.SparseGpt, damping);
                            break;
                    }
                    w.copy_(pruned);
                    masks[linear.Name] = mask.MoveToOuterDisposeScope();
                }
            }
            if (hessians is not null)
                foreach (var h in hessians.Values) h.Dispose();
            onLayer?.Invoke(layer.Key);
        }
        return (masks, tokens);
    }

    /// <summary>Wanda's 2:4 mask: the 2 largest |W_ij| · ‖X_j‖ per group, with ‖X_j‖² = H_jj (H = Σ x xᵀ).</summary>
    public static Tensor WandaMask(Tensor weight, Tensor hessian)
    {
        using var scope = NewDisposeScope();
        var featureNorm = hessian.diag().sqrt().to_type(weight.dtype);          // (in)
        return TwoFour.KeepTopTwo(weight.abs() * featureNorm.unsqueeze(0)).MoveToOuterDisposeScope();
    }
}
