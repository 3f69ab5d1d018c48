// The calibration statistic every input-aware pruner needs: for each pruned Linear, H = Σ x xᵀ over all
// calibration tokens x (in), accumulated in float64 from forward pre-hooks. SparseGPT uses H itself (the
// layer-wise reconstruction Hessian, up to a factor 2), Wanda its diagonal (‖X_j‖² per input feature j).
// Running the whole model with the hooks on layer l only, after layers 0..l-1 were pruned, gives the sequential
// calibration of SparseGPT and Wanda: layer l sees the inputs the already-pruned model feeds it.
using static TorchSharp.torch;

namespace Condense.Language.Sparsity;

/// <summary>Per-linear input second moments collected from real forward passes.</summary>
public static class InputHessians
{
    /// <summary>
    /// Runs <paramref name="model"/> on <paramref name="tokens"/> (B, T) in chunks of <paramref name="chunk"/>
    /// sequences and returns H = Σ x xᵀ (in, in) float64 for each of <paramref name="linears"/>, plus the tokens seen.
    /// </summary>
    public static (Dictionary<string, Tensor> Hessians, long Tokens) Collect(nn.Module<Tensor, Tensor> model,
        IReadOnlyList<PrunedLinear> linears, Tensor tokens, int chunk = 8)
    {
        var hessians = linears.ToDictionary(l => l.Name, l => zeros(l.Weight.shape[1], l.Weight.shape[1], float64));
        long seen = 0;
        var hooks = linears.Select(l => l.Module.register_forward_pre_hook((_, x) =>
        {
            using var scope = NewDisposeScope();
            var flat = x.detach().reshape(-1, x.shape[^1]).to_type(ScalarType.Float64); // (N, in)
            hessians[l.Name].add_(flat.t().matmul(flat));                               // (in, in)
            return x;
        })).ToList();
        try
        {
            using var noGrad = no_grad();
            for (long start = 0; start < tokens.shape[0]; start += chunk)
            {
                using var scope = NewDisposeScope();
                var batch = tokens.narrow(0, start, Math.Min(chunk, tokens.shape[0] - start));
                model.call(batch);
                seen += batch.numel();
            }
        }
        finally
        {
            foreach (var h in hooks) h.remove();
        }
        return (hessians, seen);
    }
}
