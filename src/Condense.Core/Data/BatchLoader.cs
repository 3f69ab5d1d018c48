// Batches with background prefetch, like a PyTorch DataLoader with one worker. A dedicated worker thread runs
// the collate for the next batches and parks up to `prefetch` finished ones in a bounded channel, so building
// batch k+1 overlaps the training step on batch k; the bound caps memory at prefetch+2 live batches
// (queued, one being built, one with the consumer).
//
// Determinism: which indices form batch b of epoch e comes from EpochSampler alone, and the single worker
// produces batches strictly in order, so thread timing never changes what the consumer sees; resuming at
// (epoch, batch) yields exactly the remaining batches of an uninterrupted run.
//
// Ownership (TorchSharp): DisposeScopes are per thread, so tensors the collate makes on the worker belong to no
// scope of the consumer. Attaching them to "the consumer's current scope" would be wrong in the usual loop
//     foreach (var batch in loader.Epoch(e)) { using (batch) { using var step = torch.NewDisposeScope(); ... } }
// because MoveNext runs before the step's scope opens, so batches would pile up in an outer scope until the
// epoch ends. Instead the consumer owns each batch it receives and disposes it (`using (batch)`), which keeps a
// training loop's memory flat; batches the consumer never receives (early break, cancellation, an exception)
// are disposed here when TBatch is IDisposable.
using System.Threading.Channels;

namespace Condense.Core.Data;

/// <summary>Deterministically shuffled batches of <c>count</c> examples, built by <c>collate</c> on a worker.</summary>
public sealed class BatchLoader<TBatch>
{
    private readonly Func<int[], TBatch> _collate;

    /// <summary>The sampler that decides which example indices form each batch of each epoch.</summary>
    public EpochSampler Sampler { get; }

    /// <summary>How many finished batches the worker keeps ready ahead of the consumer.</summary>
    public int Prefetch { get; }

    /// <summary>Batches in one epoch, as given by <see cref="Sampler"/>.</summary>
    public int BatchesPerEpoch => Sampler.BatchesPerEpoch;

    /// <param name="count">Examples in the dataset; collate receives indices in [0, count).</param>
    /// <param name="batchSize">Examples per batch (the last one may be shorter unless dropLast).</param>
    /// <param name="dropLast">Drop the final short batch, so every batch has exactly batchSize examples.</param>
    /// <param name="seed">With the epoch number, fixes the order.</param>
    /// <param name="collate">Builds one batch from example indices; runs on the worker thread.</param>
    /// <param name="prefetch">Finished batches kept ready ahead of the consumer (at least 1).</param>
    /// <param name="shuffle">False keeps dataset order (evaluation).</param>
    public BatchLoader(int count, int batchSize, bool dropLast, ulong seed, Func<int[], TBatch> collate,
        int prefetch = 2, bool shuffle = true)
    {
        ArgumentNullException.ThrowIfNull(collate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(prefetch);
        Sampler = new EpochSampler(count, batchSize, dropLast, seed, shuffle);
        _collate = collate;
        Prefetch = prefetch;
    }

    /// <summary>
    /// Batches from global step <paramref name="step"/> on, epoch after epoch without end: epoch =
    /// step / BatchesPerEpoch, batch = step % BatchesPerEpoch. This is the stream <c>Trainer.Fit</c> resumes.
    /// </summary>
    public IEnumerable<TBatch> FromStep(long step, CancellationToken cancellationToken = default)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "must be non-negative");
        int epoch = checked((int)(step / BatchesPerEpoch));
        int start = (int)(step % BatchesPerEpoch);
        // One worker for the whole stream: it prefetches across epoch boundaries, so a new epoch costs no worker
        // restart (a new thread, and libtorch's per-thread pools, every epoch stalled long runs by seconds).
        return Run(Endless(epoch, start), cancellationToken);

        IEnumerable<int[]> Endless(int e, int b)
        {
            for (; ; e++, b = 0)
                foreach (var indices in Sampler.Batches(e, b))
                    yield return indices;
        }
    }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on (0 for a fresh epoch; the
    /// saved batch index to resume). The worker starts when enumeration starts and stops when it ends. An
    /// exception in collate is rethrown to the consumer after the batches before it; cancellation throws
    /// OperationCanceledException at the next MoveNext.
    /// </summary>
    public IEnumerable<TBatch> Epoch(int epoch, int startBatch = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startBatch, BatchesPerEpoch);
        return Run(Sampler.Batches(epoch, startBatch), cancellationToken);
    }

    private IEnumerable<TBatch> Run(IEnumerable<int[]> batches, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<TBatch>(new BoundedChannelOptions(Prefetch)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // LongRunning: a dedicated thread, so a slow collate never starves the thread pool.
        var worker = Task.Factory.StartNew(() => Produce(batches, channel.Writer, stop.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            while (channel.Reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult())
            {
                while (channel.Reader.TryRead(out var batch))
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        Release(batch);
                        cancellationToken.ThrowIfCancellationRequested();
                    }
                    yield return batch;
                }
            }
            // The writer completed: either all batches were made or collate threw; rethrow its exception as is.
            worker.GetAwaiter().GetResult();
        }
        finally
        {
            stop.Cancel();
            try
            {
                worker.Wait(CancellationToken.None);
            }
            catch (AggregateException)
            {
                // Already surfaced above, or the consumer stopped early and does not want it.
            }
            while (channel.Reader.TryRead(out var left)) Release(left);
            stop.Dispose();
        }
    }

    private void Produce(IEnumerable<int[]> batches, ChannelWriter<TBatch> writer, CancellationToken stop)
    {
        try
        {
            foreach (var indices in batches)
            {
                if (stop.IsCancellationRequested) return;
                var batch = _collate(indices);
                if (writer.TryWrite(batch)) continue;
                try
                {
                    writer.WriteAsync(batch, stop).AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    Release(batch);
                    return;
                }
            }
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private static void Release(TBatch batch) => (batch as IDisposable)?.Dispose();
}
