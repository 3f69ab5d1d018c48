// Online estimation of a feature normalizer during distillation, then freezing it (Ranzinger et al., "PHI-S",
// arXiv:2410.01680, section 3 and Table 10: "Dist Est." steps at the start of a stage, after which the
// normalization is fixed). Reference: NVIDIA TAO (nvidia_tao_pytorch, RADIO distillation loss), WhitenNormState:
// float64 running moments, projections re-estimated every `update_period` = 100 forward passes starting with the
// first, and no more updates after 30·update_period passes, because eigh's eigenvectors jitter between estimates.
// Notes: /work/shared/research/radio.md, section 2.4.
//
// Rule used here:
// - Each Observe with at least one finite row is one batch. The normalizer is fitted after the first batch that
//   brings the count to ≥ 2 samples, then again whenever UpdatePeriod batches have passed since the last fit.
// - When the sample count reaches WarmupSamples the normalizer is fitted one last time on everything seen and
//   frozen: Observe does nothing after that. The default, 1000·C samples (tokens), puts the relative sampling
//   error of the covariance entries near sqrt(2 / (1000·C)) (1.6% at C = 8, 0.6% at C = 64), whatever the
//   batch size; independent samples assumed (tokens of one image are correlated, so this is optimistic).
//
// Deviations:
// - Freezing counts samples (tokens), not forward passes (TAO: 30·update_period passes, whatever their size).
// - Rows with a NaN or infinite value are excluded (TAO excludes masked tokens instead; there is no mask here).
// - No on-disk cache of the fitted projection; State/LoadState carry it in the training checkpoint.
using Condense.Core;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Feeds teacher features into a normalizer's moments, re-fits it periodically and freezes it.</summary>
public sealed class NormalizerEstimator : IDisposable
{
    /// <summary>TAO's default re-estimation period, in batches.</summary>
    public const int DefaultUpdatePeriod = 100;

    /// <summary>Samples after which estimation stops by default: 1000 per channel.</summary>
    public static long DefaultWarmupSamples(int channels) => 1000L * channels;

    private long lastFitBatch;

    /// <param name="normalizer">The normalizer to estimate; the estimator takes ownership and disposes it.</param>
    /// <param name="updatePeriod">Batches between re-fits.</param>
    /// <param name="warmupSamples">Samples after which the normalizer is fitted a last time and frozen; default
    /// <see cref="DefaultWarmupSamples"/>.</param>
    public NormalizerEstimator(IFeatureNormalizer normalizer, int updatePeriod = DefaultUpdatePeriod,
        long? warmupSamples = null)
    {
        ArgumentNullException.ThrowIfNull(normalizer);
        if (updatePeriod <= 0)
            throw new ArgumentOutOfRangeException(nameof(updatePeriod), updatePeriod, "must be positive");
        long warmup = warmupSamples ?? DefaultWarmupSamples(normalizer.Channels);
        if (warmup < 2) throw new ArgumentOutOfRangeException(nameof(warmupSamples), warmup, "must be at least 2");
        Normalizer = normalizer;
        UpdatePeriod = updatePeriod;
        WarmupSamples = warmup;
        Moments = new RunningMoments(normalizer.Channels);
    }

    /// <summary>The normalizer being estimated (owned by this estimator).</summary>
    public IFeatureNormalizer Normalizer { get; }

    /// <summary>Everything observed so far.</summary>
    public RunningMoments Moments { get; }

    /// <summary>Batches between re-fits.</summary>
    public int UpdatePeriod { get; }

    /// <summary>Sample count at which the normalizer is frozen.</summary>
    public long WarmupSamples { get; }

    /// <summary>Batches that contributed at least one finite row.</summary>
    public long Batches { get; private set; }

    /// <summary>How many times the normalizer was fitted.</summary>
    public long Fits { get; private set; }

    /// <summary>True once <see cref="WarmupSamples"/> were seen; the normalizer no longer changes.</summary>
    public bool IsFrozen { get; private set; }

    /// <summary>
    /// Accumulates the finite rows of <paramref name="features"/> (..., C) and re-fits or freezes as the rule says.
    /// Returns true when the normalizer was fitted by this call. A no-op once frozen.
    /// </summary>
    public bool Observe(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        int c = Normalizer.Channels;
        if (features.dim() == 0 || features.shape[^1] != c)
            throw new ArgumentException(
                $"Expected (..., {c}) features, got ({string.Join(", ", features.shape)}).", nameof(features));
        if (IsFrozen) return false;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var rows = features.reshape(-1, c);                                   // (N, C)
        var finite = rows.isfinite().all(1);                                  // (N)
        rows = rows[finite];                                                  // (N', C)
        if (rows.shape[0] == 0) return false;
        Moments.Update(rows);
        Batches++;
        if (Moments.Count < 2) return false;
        if (Moments.Count >= WarmupSamples)
        {
            FitNow();
            IsFrozen = true;
            return true;
        }
        if (Fits == 0 || Batches - lastFitBatch >= UpdatePeriod)
        {
            FitNow();
            return true;
        }
        return false;
    }

    /// <summary>
    /// Fits the normalizer one last time on everything seen and freezes it, whatever the sample count (a study's
    /// "freeze every teacher at the same step"). A no-op when already frozen or fewer than 2 samples were seen.
    /// Returns true when it froze the normalizer.
    /// </summary>
    public bool Freeze()
    {
        if (IsFrozen || Moments.Count < 2) return false;
        FitNow();
        IsFrozen = true;
        return true;
    }

    /// <summary>
    /// Checkpoint tensors: "moments.*", "normalizer.*" (the fitted μ, W, Θ themselves, not re-derived) and
    /// "estimator.batches", "estimator.fits", "estimator.last_fit", "estimator.frozen"; in the caller's scope.
    /// </summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>
        {
            ["estimator.batches"] = tensor(Batches),
            ["estimator.fits"] = tensor(Fits),
            ["estimator.last_fit"] = tensor(lastFitBatch),
            ["estimator.frozen"] = tensor(IsFrozen),
        };
        foreach (var (key, value) in Moments.State()) state["moments." + key] = value;
        foreach (var (key, value) in Normalizer.State()) state["normalizer." + key] = value;
        return state;
    }

    /// <summary>Restores what <see cref="State"/> saved; throws <see cref="InputException"/> on a mismatch.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        const string owner = "normalizer estimator";
        using var scope = NewDisposeScope();
        long batches = StateTensors.Get(state, "estimator.batches", [], owner).to_type(ScalarType.Int64).item<long>();
        long fits = StateTensors.Get(state, "estimator.fits", [], owner).to_type(ScalarType.Int64).item<long>();
        long last = StateTensors.Get(state, "estimator.last_fit", [], owner).to_type(ScalarType.Int64).item<long>();
        bool frozen = StateTensors.Get(state, "estimator.frozen", [], owner).to_type(ScalarType.Bool).item<bool>();
        if (batches < 0 || fits < 0 || last < 0 || last > batches)
            throw new InputException(
                $"{owner}: inconsistent checkpoint counters (batches {batches}, fits {fits}, last fit {last}).");
        Moments.LoadState(StateTensors.WithPrefix(state, "moments."));
        Normalizer.LoadState(StateTensors.WithPrefix(state, "normalizer."));
        (Batches, Fits, lastFitBatch, IsFrozen) = (batches, fits, last, frozen);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Moments.Dispose();
        Normalizer.Dispose();
    }

    private void FitNow()
    {
        Normalizer.Fit(Moments);
        Fits++;
        lastFitBatch = Batches;
    }
}
