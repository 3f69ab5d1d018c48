// The shuffle must be a pure function of (seed, epoch). Golden values come from an independent Python
// implementation of SplitMix64 + Lemire bounded draws + Fisher-Yates, so a change of algorithm (which would
// silently change the batches of a resumed run) fails here.
using Condense.Core.Data;

namespace Condense.Core.Tests.Data;

public class EpochSamplerTests
{
    [Fact]
    public void SplitMix64_matches_the_reference_sequence()
    {
        var rng = new SplitMix64(0);

        Assert.Equal(0xE220A8397B1DCDAFUL, rng.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, rng.Next());
        Assert.Equal(0x06C45D188009454FUL, rng.Next());
    }

    [Fact]
    public void Permutations_match_the_python_reference()
    {
        Assert.Equal([1, 7, 2, 5, 6, 4, 0, 9, 8, 3], new EpochSampler(10, 4, false, 42).Permutation(0));
        Assert.Equal([8, 9, 4, 3, 7, 1, 5, 6, 0, 2], new EpochSampler(10, 4, false, 42).Permutation(1));
        Assert.Equal([0, 6, 5, 4, 7, 3, 9, 2, 1, 8], new EpochSampler(10, 4, false, 43).Permutation(0));
    }

    [Fact]
    public void Same_seed_and_epoch_give_the_same_order_regardless_of_global_rng()
    {
        var a = new EpochSampler(1000, 32, false, 7).Permutation(3);
        _ = Random.Shared.Next();
        var b = new EpochSampler(1000, 32, false, 7).Permutation(3);

        Assert.Equal(a, b);
        Assert.NotEqual(a, new EpochSampler(1000, 32, false, 7).Permutation(4));
        Assert.NotEqual(a, new EpochSampler(1000, 32, false, 8).Permutation(3));
    }

    [Fact]
    public void Every_index_appears_once_per_epoch()
    {
        var sampler = new EpochSampler(1003, 64, false, 1);

        for (var epoch = 0; epoch < 3; epoch++)
        {
            var seen = sampler.Batches(epoch).SelectMany(b => b).ToArray();
            Assert.Equal(Enumerable.Range(0, 1003), seen.Order());
        }
        Assert.Equal(16, sampler.BatchesPerEpoch);
        Assert.Equal(1003 - 15 * 64, sampler.Batches(0).Last().Length);
    }

    [Fact]
    public void Drop_last_drops_only_the_short_batch()
    {
        var keep = new EpochSampler(10, 4, dropLast: false, seed: 5);
        var drop = new EpochSampler(10, 4, dropLast: true, seed: 5);

        Assert.Equal([4, 4, 2], keep.Batches(0).Select(b => b.Length));
        Assert.Equal([4, 4], drop.Batches(0).Select(b => b.Length));
        Assert.Equal(keep.Batches(0).Take(2), drop.Batches(0));
    }

    [Fact]
    public void Without_shuffle_the_order_is_the_dataset_order()
    {
        var sampler = new EpochSampler(7, 3, false, 99, shuffle: false);

        Assert.Equal([0, 1, 2, 3, 4, 5, 6], sampler.Permutation(5));
    }

    [Fact]
    public void Bounded_draws_stay_in_range_and_cover_it()
    {
        var rng = new SplitMix64(123);
        var counts = new int[7];
        for (var i = 0; i < 7000; i++) counts[rng.NextInt(7)]++;

        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }
}
