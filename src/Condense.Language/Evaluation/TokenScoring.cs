// Teacher-forced next-token negative log-likelihood, the quantity behind perplexity and calibration losses.
using Condense.Language.Models;
using static TorchSharp.torch;

namespace Condense.Language.Evaluation;

/// <summary>Per-token NLL of token sequences under a <see cref="LlamaForCausalLM"/>.</summary>
public static class TokenScoring
{
    /// <summary>
    /// NLL (B, T - 1) in nats of predicting tokens[:, t + 1] from tokens[:, ..t], for tokens (B, T) int64.
    /// Differentiable when gradients are enabled. Padded targets are not masked here; see <see cref="SumNll"/>.
    /// </summary>
    public static Tensor TokenNll(LlamaForCausalLM model, Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        using var scope = NewDisposeScope();
        long B = tokens.shape[0], T = tokens.shape[1];
        var logits = model.call(tokens.narrow(1, 0, T - 1));                    // (B, T-1, V)
        var targets = tokens.narrow(1, 1, T - 1);                               // (B, T-1)
        var nll = nn.functional.cross_entropy(
            logits.reshape(B * (T - 1), -1).to_type(ScalarType.Float32), targets.reshape(-1),
            reduction: nn.Reduction.None);                                      // (B*(T-1))
        return nll.view(B, T - 1).MoveToOuterDisposeScope();
    }

    /// <summary>Sum of the NLL over the real targets of <paramref name="batch"/> (a scalar tensor), and their count.</summary>
    public static (Tensor Sum, long Count) SumNll(LlamaForCausalLM model, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var nll = TokenNll(model, batch.Tokens);                                // (B, T-1)
        var sum = nll.masked_fill(batch.TargetMask.logical_not(), 0).to_type(ScalarType.Float64).sum();
        return (sum.MoveToOuterDisposeScope(), batch.PredictedTokens);
    }

    /// <summary>Mean NLL over the real targets of <paramref name="sequences"/> (no gradient), with the count.</summary>
    public static (double MeanNll, long Count) MeanNll(LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> sequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.OutputWeight.device;
        using var batch = TokenBatch.FromSequences(sequences, device);
        var (sum, count) = SumNll(model, batch);
        return (sum.item<double>() / count, count);
    }
}
