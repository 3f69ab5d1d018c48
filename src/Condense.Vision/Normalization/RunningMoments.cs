// Running mean and covariance of teacher features, accumulated batch by batch in float64 with the pairwise update
// of Chan, Golub and LeVeque ("Updating formulae and a pairwise algorithm for computing sample variances", 1979):
//   n = nₐ + n_b,  δ = μ_b − μₐ,  μ = μₐ + δ·n_b/n,  M₂ = M₂ₐ + M₂_b + δδᵀ·nₐ·n_b/n
// where M₂ is the centered sum of outer products Σ (y − μ)(y − μ)ᵀ. This is the online estimate PHI-S needs
// (Ranzinger et al., arXiv:2410.01680, section 3 "Dist Est." steps). Reference: NVIDIA TAO (nvidia_tao_pytorch,
// RADIO distillation loss), WhitenNormState._update_samples (`cov_sum += chunkᵀchunk + δδᵀ·n_b·nₐ/n`).
// Notes: /work/shared/research/radio.md, section 2.4.
//
// Deviations:
// - The mean is kept directly (μ) rather than as a running sum; the merge above is the same algebra.
// - No spatial mask and no distributed all-reduce; Merge combines accumulators from separate streams instead.
using Condense.Core;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Float64 running mean (C) and covariance (C, C) over (..., C) batches.</summary>
public sealed class RunningMoments : IDisposable
{
    private readonly Tensor mean;     // (C) float64
    private readonly Tensor m2;       // (C, C) float64, Σ (y − μ)(y − μ)ᵀ

    /// <summary>Empty moments (count 0) for <paramref name="channels"/>-wide features.</summary>
    public RunningMoments(int channels)
    {
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "must be positive");
        Channels = channels;
        mean = zeros(channels, dtype: ScalarType.Float64).DetachFromDisposeScope();
        m2 = zeros(channels, channels, dtype: ScalarType.Float64).DetachFromDisposeScope();
    }

    /// <summary>Feature width C.</summary>
    public int Channels { get; }

    /// <summary>Number of rows (feature vectors) seen.</summary>
    public long Count { get; private set; }

    /// <summary>Running mean (C) float64; owned by this object, do not dispose.</summary>
    public Tensor Mean => mean;

    /// <summary>Centered sum of outer products Σ (y − μ)(y − μ)ᵀ, (C, C) float64; owned, do not dispose.</summary>
    public Tensor SumOfSquares => m2;

    /// <summary>The unbiased sample covariance M₂ / (n − 1), (C, C) float64, in the caller's dispose scope.</summary>
    public Tensor Covariance()
    {
        if (Count < 2)
            throw new InvalidOperationException($"Covariance needs at least 2 samples; {Count} seen.");
        return m2 / (Count - 1);
    }

    /// <summary>Adds every row of <paramref name="batch"/> (..., C); any float dtype.</summary>
    public void Update(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.dim() == 0 || batch.shape[^1] != Channels)
            throw new ArgumentException(
                $"Expected (..., {Channels}) features, got ({string.Join(", ", batch.shape)}).", nameof(batch));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var rows = batch.reshape(-1, Channels).to_type(ScalarType.Float64);   // (N, C)
        long n = rows.shape[0];
        if (n == 0) return;
        var batchMean = rows.mean([0]);                                       // (C)
        var centered = rows - batchMean;                                      // (N, C)
        Combine(n, batchMean, centered.t().matmul(centered));                 // (C, C)
    }

    /// <summary>Adds everything <paramref name="other"/> has seen (same channels); <paramref name="other"/> is
    /// unchanged.</summary>
    public void Merge(RunningMoments other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Channels != Channels)
            throw new ArgumentException($"Cannot merge {other.Channels}-channel moments into {Channels} channels.",
                nameof(other));
        if (other.Count == 0) return;
        using var scope = NewDisposeScope();
        Combine(other.Count, other.mean, other.m2);
    }

    /// <summary>Forgets everything seen.</summary>
    public void Reset()
    {
        Count = 0;
        mean.zero_();
        m2.zero_();
    }

    /// <summary>Checkpoint tensors ("count" int64 scalar, "mean" (C), "m2" (C, C)), in the caller's scope.</summary>
    public Dictionary<string, Tensor> State() => new()
    {
        ["count"] = tensor(Count),
        ["mean"] = mean.clone(),
        ["m2"] = m2.clone(),
    };

    /// <summary>Restores what <see cref="State"/> saved; throws <see cref="InputException"/> on a mismatch.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var count = StateTensors.Get(state, "count", [], "running moments").to_type(ScalarType.Int64).item<long>();
        if (count < 0) throw new InputException($"running moments: negative count {count} in checkpoint.");
        var newMean = StateTensors.Get(state, "mean", [Channels], "running moments");
        var newM2 = StateTensors.Get(state, "m2", [Channels, Channels], "running moments");
        mean.copy_(newMean.to_type(ScalarType.Float64));
        m2.copy_(newM2.to_type(ScalarType.Float64));
        Count = count;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        mean.Dispose();
        m2.Dispose();
    }

    // Chan et al.'s pairwise merge of (Count, mean, m2) with (nb, meanB, m2B).
    private void Combine(long nb, Tensor meanB, Tensor m2B)
    {
        using var noGrad = no_grad();
        long na = Count, n = na + nb;
        var delta = meanB - mean;                                                 // (C)
        var newMean = mean + delta * ((double)nb / n);                            // (C)
        var newM2 = m2 + m2B + delta.outer(delta) * ((double)na * nb / n);        // (C, C)
        mean.copy_(newMean);
        m2.copy_(newM2);
        Count = n;
    }
}
