using Condense.Core;
using Condense.Vision.Normalization;
using static TorchSharp.torch;

namespace Condense.Vision.Tests.Normalization;

public sealed class RunningMomentsTests
{
    // Correlated float64 data far from the origin (offset 1000), where a naive sum-of-squares loses digits.
    private static Tensor Data(int n, int c, int seed)
    {
        manual_seed(seed);
        var mixing = randn(c, c, dtype: ScalarType.Float64);                    // (C, C)
        return randn(n, c, dtype: ScalarType.Float64).matmul(mixing) + 1000.0 + arange(c, dtype: ScalarType.Float64);
    }

    private static Tensor BatchCovariance(Tensor x)
    {
        var centered = x - x.mean([0]);                                          // (N, C)
        return centered.t().matmul(centered) / (x.shape[0] - 1);                 // (C, C)
    }

    [Fact]
    public void Uneven_chunks_match_the_batch_mean_and_covariance()
    {
        using var scope = NewDisposeScope();
        var x = Data(1037, 7, seed: 1);
        using var moments = new RunningMoments(7);
        long start = 0;
        foreach (int size in new[] { 1, 5, 300, 2, 0, 729 })
        {
            moments.Update(x.narrow(0, start, size));
            start += size;
        }
        Assert.Equal(1037, moments.Count);
        Assert.True((moments.Mean - x.mean([0])).abs().max().item<double>() < 1e-9);
        Assert.True((moments.Covariance() - BatchCovariance(x)).abs().max().item<double>() < 1e-9);
        Assert.True((moments.Covariance() - x.t().cov()).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void Accepts_any_leading_shape_and_float32()
    {
        using var scope = NewDisposeScope();
        var x = Data(60, 4, seed: 2).to_type(ScalarType.Float32);
        using var moments = new RunningMoments(4);
        moments.Update(x.reshape(3, 5, 4, 4));
        var exact = x.to_type(ScalarType.Float64);
        Assert.Equal(60, moments.Count);
        Assert.True((moments.Covariance() - BatchCovariance(exact)).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void Merging_accumulators_equals_one_accumulator_over_everything()
    {
        using var scope = NewDisposeScope();
        var x = Data(500, 5, seed: 3);
        using var left = new RunningMoments(5);
        using var right = new RunningMoments(5);
        using var empty = new RunningMoments(5);
        left.Update(x.narrow(0, 0, 123));
        right.Update(x.narrow(0, 123, 200));
        right.Update(x.narrow(0, 323, 177));
        left.Merge(right);
        left.Merge(empty);
        Assert.Equal(500, left.Count);
        Assert.Equal(377, right.Count);
        Assert.True((left.Mean - x.mean([0])).abs().max().item<double>() < 1e-9);
        Assert.True((left.Covariance() - BatchCovariance(x)).abs().max().item<double>() < 1e-9);
        empty.Merge(left);
        Assert.True((empty.Covariance() - BatchCovariance(x)).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void State_round_trips_and_rejects_a_wrong_shape()
    {
        using var scope = NewDisposeScope();
        var x = Data(80, 3, seed: 4);
        using var a = new RunningMoments(3);
        a.Update(x);
        using var b = new RunningMoments(3);
        b.LoadState(a.State());
        Assert.Equal(80, b.Count);
        Assert.True(b.Mean.Same(a.Mean));
        Assert.True(b.SumOfSquares.Same(a.SumOfSquares));
        a.Update(x);
        b.Update(x);
        Assert.True(b.SumOfSquares.Same(a.SumOfSquares));

        using var wide = new RunningMoments(4);
        var error = Assert.Throws<InputException>(() => wide.LoadState(a.State()));
        Assert.Contains("'mean'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_wrong_channels_and_too_few_samples()
    {
        using var scope = NewDisposeScope();
        using var moments = new RunningMoments(3);
        Assert.Throws<ArgumentException>(() => moments.Update(zeros(4, 2)));
        moments.Update(ones(1, 3));
        Assert.Throws<InvalidOperationException>(() => moments.Covariance());
        using var other = new RunningMoments(2);
        Assert.Throws<ArgumentException>(() => moments.Merge(other));
        moments.Reset();
        Assert.Equal(0, moments.Count);
        Assert.Equal(0.0, moments.Mean.abs().sum().item<double>());
    }
}
