// BatchLoader: determinism and resume, coverage, drop-last, real overlap of the worker, error and cancellation
// paths, and disposal of batches the consumer never received. Most tests collate to the index arrays
// themselves so that what the consumer sees can be compared with EpochSampler exactly.
using System.Diagnostics;
using Condense.Core.Data;

namespace Condense.Core.Tests.Data;

public class BatchLoaderTests
{
    private static BatchLoader<int[]> Indices(int count, int batchSize, bool dropLast = false, ulong seed = 42,
        int prefetch = 2) => new(count, batchSize, dropLast, seed, idx => idx, prefetch);

    [Fact]
    public void Same_seed_gives_the_same_batches_and_epochs_differ()
    {
        var a = Indices(100, 8).Epoch(0).ToList();
        var b = Indices(100, 8).Epoch(0).ToList();
        var next = Indices(100, 8).Epoch(1).ToList();

        Assert.Equal(a, b);
        Assert.Equal(new EpochSampler(100, 8, false, 42).Batches(0), a);
        Assert.NotEqual(a, next);
    }

    [Fact]
    public void Resume_at_epoch_1_batch_3_yields_the_remaining_batches()
    {
        var loader = Indices(100, 8);
        var full = loader.Epoch(1).ToList();

        var resumed = loader.Epoch(1, startBatch: 3).ToList();

        Assert.Equal(full.Skip(3), resumed);
        Assert.Equal(13 - 3, resumed.Count);
    }

    [Fact]
    public void FromStep_crosses_epoch_boundaries_with_one_worker_and_the_exact_stream()
    {
        var threads = new HashSet<int>();
        var loader = new BatchLoader<int[]>(20, 8, dropLast: true, seed: 7, idx =>
        {
            lock (threads) threads.Add(Environment.CurrentManagedThreadId);
            return idx;
        });
        var sampler = new EpochSampler(20, 8, true, 7);

        var stream = loader.FromStep(3).Take(5).ToList();                 // 2 batches per epoch: epoch 1 batch 1 on

        var expected = sampler.Batches(1, 1).Concat(sampler.Batches(2)).Concat(sampler.Batches(3)).ToList();
        Assert.Equal(expected, stream);
        Assert.Single(threads);                                           // no worker restart per epoch
    }

    [Fact]
    public void Every_index_appears_once_per_epoch()
    {
        var loader = Indices(101, 10, prefetch: 3);

        for (var epoch = 0; epoch < 2; epoch++)
            Assert.Equal(Enumerable.Range(0, 101), loader.Epoch(epoch).SelectMany(b => b).Order());
    }

    [Fact]
    public void Drop_last_gives_only_full_batches()
    {
        var batches = Indices(101, 10, dropLast: true).Epoch(0).ToList();

        Assert.Equal(10, batches.Count);
        Assert.All(batches, b => Assert.Equal(10, b.Length));
        Assert.Equal(100, batches.SelectMany(b => b).Distinct().Count());
    }

    [Fact]
    public void Collate_runs_ahead_on_another_thread()
    {
        var calls = 0;
        var threads = new System.Collections.Concurrent.ConcurrentBag<int>();
        var loader = new BatchLoader<int[]>(100, 10, false, 1, idx =>
        {
            threads.Add(Environment.CurrentManagedThreadId);
            Interlocked.Increment(ref calls);
            return idx;
        }, prefetch: 3);

        using var batches = loader.Epoch(0).GetEnumerator();
        Assert.True(batches.MoveNext());
        // Without pulling more, the worker builds the consumed batch, 3 queued ones and a 5th that waits in the
        // blocked write; then it stops: ahead, but bounded.
        var clock = Stopwatch.StartNew();
        while (Volatile.Read(ref calls) < 5 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
        Thread.Sleep(100);

        Assert.Equal(5, Volatile.Read(ref calls));
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, threads);
    }

    [Fact]
    public void Worker_exception_reaches_the_consumer_after_earlier_batches()
    {
        var calls = 0;
        // Three good batches, then a failure the way a corrupt sample would fail.
        var loader = new BatchLoader<int[]>(100, 10, false, 1,
            idx => ++calls > 3 ? throw new InvalidOperationException($"collate failed on batch {calls}") : idx);
        var received = new List<int[]>();

        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var batch in loader.Epoch(0)) received.Add(batch);
        });

        Assert.Equal("collate failed on batch 4", ex.Message);
        Assert.Equal(new EpochSampler(100, 10, false, 1).Batches(0).Take(3), received);
    }

    [Fact]
    public void Cancellation_stops_promptly()
    {
        var calls = 0;
        // 100 batches at 30 ms each would take 3 s.
        var loader = new BatchLoader<int[]>(400, 4, false, 1, idx =>
        {
            Interlocked.Increment(ref calls);
            Thread.Sleep(30);
            return idx;
        });
        using var cts = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var received = 0;

        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var _ in loader.Epoch(0, cancellationToken: cts.Token))
                if (++received == 2) cts.Cancel();
        });

        Assert.Equal(2, received);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"took {clock.Elapsed}");
        // The worker is gone: no more collate calls after the enumeration ended.
        var after = Volatile.Read(ref calls);
        Thread.Sleep(200);
        Assert.Equal(after, Volatile.Read(ref calls));
        Assert.True(after < 10, $"{after} collate calls");
    }

    [Fact]
    public void Batches_never_received_are_disposed()
    {
        var made = new System.Collections.Concurrent.ConcurrentQueue<Tracked>();
        var loader = new BatchLoader<Tracked>(100, 10, false, 1, idx =>
        {
            var t = new Tracked(idx);
            made.Enqueue(t);
            return t;
        }, prefetch: 4);

        Tracked? first = null;
        using (var batches = loader.Epoch(0).GetEnumerator())
        {
            Assert.True(batches.MoveNext());
            first = batches.Current;
            // Let the worker fill the queue so there is something left to clean up.
            var clock = Stopwatch.StartNew();
            while (made.Count < 5 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
        }

        Assert.True(made.Count >= 5);
        Assert.False(first.Disposed);
        Assert.All(made.Where(t => t != first), t => Assert.True(t.Disposed));
    }

    [Fact]
    public void Start_batch_past_the_end_is_rejected()
    {
        var loader = Indices(100, 8);

        Assert.Empty(loader.Epoch(0, startBatch: loader.BatchesPerEpoch));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(0, startBatch: loader.BatchesPerEpoch + 1));
    }

    private sealed class Tracked(int[] indices) : IDisposable
    {
        public int[] Indices { get; } = indices;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }
}
