using Condense.Core;
using Condense.Vision.Normalization;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

public sealed class NormalizerEstimatorTests
{
    private static Tensor Batches(int count, int rows, int channels, int seed)
    {
        manual_seed(seed);
        var mixing = randn(channels, channels);                                // (C, C)
        return randn(count, rows, channels).matmul(mixing) + 3;               // (count, rows, C)
    }

    [Fact]
    public void Refits_every_update_period_and_freezes_after_the_warmup_samples()
    {
        using var scope = NewDisposeScope();
        var batches = Batches(20, 64, 8, seed: 1);
        using var estimator = new NormalizerEstimator(new StandardizeNormalizer(8), updatePeriod: 3,
            warmupSamples: 1000);
        var fittedAt = new List<int>();
        for (int i = 0; i < 16; i++)
            if (estimator.Observe(batches[i])) fittedAt.Add(i + 1);
        // First batch, then every 3 batches, and the 16th (1024 ≥ 1000 samples) fits a last time and freezes.
        Assert.Equal(new[] { 1, 4, 7, 10, 13, 16 }, fittedAt);
        Assert.True(estimator.IsFrozen);
        Assert.Equal(6, estimator.Fits);
        Assert.Equal(1024, estimator.Moments.Count);

        // The frozen fit used every sample seen.
        var seen = batches.narrow(0, 0, 16).reshape(-1, 8).to_type(ScalarType.Float64);
        var normalizer = estimator.Normalizer;
        Assert.True(normalizer.Mean.allclose(seen.mean([0]), rtol: 0, atol: 1e-9));
        Assert.True(normalizer.ForwardMatrix.allclose(diag(seen.std(0).reciprocal()), rtol: 0, atol: 1e-9));

        // Frozen: more (very different) data changes nothing.
        var frozen = normalizer.ForwardMatrix.clone();
        Assert.False(estimator.Observe(batches[16] * 10));
        Assert.Equal(1024, estimator.Moments.Count);
        Assert.Equal(16, estimator.Batches);
        Assert.True(normalizer.ForwardMatrix.Same(frozen));
    }

    [Fact]
    public void Freeze_fits_on_everything_seen_before_the_warmup_and_stops_updates()
    {
        using var scope = NewDisposeScope();
        var batches = Batches(6, 64, 8, seed: 2);
        using var estimator = new NormalizerEstimator(new StandardizeNormalizer(8), updatePeriod: 100, warmupSamples: 1_000_000);
        for (int i = 0; i < 5; i++) estimator.Observe(batches[i]);
        Assert.Equal(1, estimator.Fits);                                    // only the first batch's fit so far
        Assert.True(estimator.Freeze());
        Assert.True(estimator.IsFrozen);
        var seen = batches.narrow(0, 0, 5).reshape(-1, 8).to_type(ScalarType.Float64);
        Assert.True(estimator.Normalizer.Mean.allclose(seen.mean([0]), rtol: 0, atol: 1e-9));
        Assert.False(estimator.Observe(batches[5]));
        Assert.False(estimator.Freeze());                                   // already frozen
        Assert.Equal(320, estimator.Moments.Count);
    }

    [Fact]
    public void Default_warmup_is_a_thousand_samples_per_channel()
    {
        using var scope = NewDisposeScope();
        using var estimator = new NormalizerEstimator(new PhiSNormalizer(64));
        Assert.Equal(64_000, estimator.WarmupSamples);
        Assert.Equal(NormalizerEstimator.DefaultUpdatePeriod, estimator.UpdatePeriod);
        using var spare = new PhiSNormalizer(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NormalizerEstimator(spare, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NormalizerEstimator(spare, 10, warmupSamples: 1));
    }

    [Fact]
    public void Non_finite_rows_are_excluded()
    {
        using var scope = NewDisposeScope();
        using var estimator = new NormalizerEstimator(new PhiSNormalizer(4), updatePeriod: 10, warmupSamples: 100);
        var rows = Batches(1, 6, 4, seed: 2)[0];                               // (6, 4)
        using (no_grad())
        {
            rows[1, 2] = tensor(float.NaN);
            rows[4, 0] = tensor(float.PositiveInfinity);
        }
        Assert.True(estimator.Observe(rows.reshape(2, 3, 4)));
        Assert.Equal(4, estimator.Moments.Count);
        var finite = cat([rows.narrow(0, 0, 1), rows.narrow(0, 2, 2), rows.narrow(0, 5, 1)])
            .to_type(ScalarType.Float64);
        Assert.True(estimator.Moments.Mean.allclose(finite.mean([0]), rtol: 0, atol: 1e-9));
        Assert.True(estimator.Normalizer.ForwardMatrix.isfinite().all().item<bool>());

        Assert.False(estimator.Observe(full(5, 4, float.NaN)));                // nothing finite: not a batch
        Assert.Equal(1, estimator.Batches);
        Assert.Throws<ArgumentException>(() => estimator.Observe(zeros(5, 3)));
    }

    [Fact]
    public void State_round_trips_the_moments_the_counters_and_the_exact_projection()
    {
        using var scope = NewDisposeScope();
        var batches = Batches(12, 50, 16, seed: 3);
        using var a = new NormalizerEstimator(new PhiSNormalizer(16), updatePeriod: 2, warmupSamples: 500);
        for (int i = 0; i < 5; i++) a.Observe(batches[i]);
        Assert.Equal(3, a.Fits);                                               // batches 1, 3, 5

        using var b = new NormalizerEstimator(new PhiSNormalizer(16), updatePeriod: 2, warmupSamples: 500);
        b.LoadState(a.State());
        Assert.Equal((a.Batches, a.Fits, a.IsFrozen, a.Moments.Count),
            (b.Batches, b.Fits, b.IsFrozen, b.Moments.Count));
        Assert.True(b.Normalizer.ForwardMatrix.Same(a.Normalizer.ForwardMatrix));
        Assert.True(b.Normalizer.InverseMatrix.Same(a.Normalizer.InverseMatrix));

        // Both continue identically, through the next fit and the freeze (10 batches = 500 samples).
        for (int i = 5; i < 11; i++)
            Assert.Equal(a.Observe(batches[i]), b.Observe(batches[i]));
        Assert.True(a.IsFrozen && b.IsFrozen);
        Assert.True(b.Normalizer.ForwardMatrix.Same(a.Normalizer.ForwardMatrix));
        Assert.True(b.Moments.SumOfSquares.Same(a.Moments.SumOfSquares));

        using var c = new NormalizerEstimator(new PhiSNormalizer(16), updatePeriod: 2, warmupSamples: 500);
        c.LoadState(a.State());
        Assert.True(c.IsFrozen);
        Assert.False(c.Observe(batches[11]));
        Assert.True(c.Normalizer.ForwardMatrix.Same(a.Normalizer.ForwardMatrix));

        var broken = a.State();
        broken.Remove("estimator.frozen");
        Assert.Throws<InputException>(() => c.LoadState(broken));
    }
}
