// Which examples go in which batch. The order of epoch e is a pure function of (seed, e): a Fisher-Yates shuffle
// driven by SplitMix64 seeded from both, so it depends on no global RNG and no thread timing, and a run resumed
// at (epoch, batch) recomputes exactly the batches it would have seen.
namespace Condense.Core.Data;

/// <summary>Deterministic per-epoch permutations sliced into batches.</summary>
public sealed class EpochSampler
{
    /// <summary>Examples in the dataset; indices are in [0, Count).</summary>
    public int Count { get; }

    /// <summary>Examples per batch (the last batch may be shorter unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Whether the final short batch of an epoch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>With the epoch number, fixes each epoch's order.</summary>
    public ulong Seed { get; }

    /// <summary>Whether each epoch is shuffled; false keeps dataset order.</summary>
    public bool Shuffle { get; }

    /// <summary>Full batches, plus the final short one unless <see cref="DropLast"/>.</summary>
    public int BatchesPerEpoch => DropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>A sampler over <paramref name="count"/> examples in batches of <paramref name="batchSize"/>.</summary>
    public EpochSampler(int count, int batchSize, bool dropLast, ulong seed, bool shuffle = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        (Count, BatchSize, DropLast, Seed, Shuffle) = (count, batchSize, dropLast, seed, shuffle);
    }

    /// <summary>The order of all examples in <paramref name="epoch"/> (identity when not shuffling).</summary>
    public int[] Permutation(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (!Shuffle) return order;
        // Mix the epoch in through one SplitMix64 step so nearby (seed, epoch) pairs give unrelated streams.
        var rng = new SplitMix64(new SplitMix64(Seed ^ ((ulong)epoch * 0xD1B54A32D192ED03UL)).Next());
        rng.Shuffle<int>(order);
        return order;
    }

    /// <summary>The example indices of batch <paramref name="batch"/> within a permutation of this sampler.</summary>
    public int[] Batch(int[] permutation, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(batch, BatchesPerEpoch);
        var start = batch * BatchSize;
        return permutation.AsSpan(start, Math.Min(BatchSize, Count - start)).ToArray();
    }

    /// <summary>All batches of <paramref name="epoch"/>, from <paramref name="startBatch"/> on.</summary>
    public IEnumerable<int[]> Batches(int epoch, int startBatch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        var permutation = Permutation(epoch);
        for (var b = startBatch; b < BatchesPerEpoch; b++) yield return Batch(permutation, b);
    }
}
