// ImageBatch.Collate on real MNIST, alone and through BatchLoader for a whole epoch, including the ownership
// rule: tensors are built on the worker, the consumer disposes what it receives, the loader what it never hands out.
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Core.Runtime;
using static TorchSharp.torch;

namespace Condense.Core.Tests.Data;

public class ImageBatchTests
{
    private static readonly Lazy<LabelledImages> Mnist = new(() => LabelledImages.FromIdx(
        AssetPaths.Require("data/images/mnist_t10k-images-idx3-ubyte.gz"),
        AssetPaths.Require("data/images/mnist_t10k-labels-idx1-ubyte")));

    public ImageBatchTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Collate_scales_pixels_to_unit_range()
    {
        using var scope = NewDisposeScope();

        using var batch = ImageBatch.Collate(Mnist.Value)([0, 1]);

        Assert.Equal([2L, 1, 28, 28], batch.Images.shape);
        Assert.Equal(ScalarType.Float32, batch.Images.dtype);
        Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
        Assert.Equal([7L, 2], batch.Labels.data<long>().ToArray());
        Assert.Equal(18454 / 255.0, batch.Images[0].sum().item<float>(), 2);
        Assert.Equal(1f, batch.Images.max().item<float>());
        Assert.Equal(0f, batch.Images.min().item<float>());
    }

    [Fact]
    public void Collate_normalises_with_mean_and_std()
    {
        using var scope = NewDisposeScope();
        var data = Mnist.Value;

        using var batch = ImageBatch.Collate(data, [0.1307f], [0.3081f])([0]);

        // Pixel (0, 0) of image 0 is 0; the brightest pixel is 255.
        Assert.Equal(-0.1307f / 0.3081f, batch.Images[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal((1f - 0.1307f) / 0.3081f, batch.Images.max().item<float>(), 5);
        Assert.Throws<ArgumentException>(() => ImageBatch.Collate(data, [0.5f, 0.5f], [0.5f, 0.5f]));
    }

    [Fact]
    public void Loader_visits_the_whole_mnist_test_set_once_per_epoch()
    {
        using var scope = NewDisposeScope();
        var data = Mnist.Value;
        var loader = new BatchLoader<ImageBatch>(data.Count, 256, false, 3, ImageBatch.Collate(data));
        var labelCounts = new long[10];
        var pixelSum = 0.0;
        var seen = 0;

        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            {
                seen += (int)batch.Labels.shape[0];
                foreach (var label in batch.Labels.data<long>()) labelCounts[label]++;
                pixelSum += batch.Images.sum().item<float>();
            }
        }

        Assert.Equal(10000, seen);
        Assert.Equal(new long[] { 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009 }, labelCounts);
        Assert.Equal(264_923_200 / 255.0, pixelSum, 264_923_200 / 255.0 * 1e-5);
    }

    [Fact]
    public void Received_batches_belong_to_the_consumer_not_to_a_scope()
    {
        using var scope = NewDisposeScope();
        var data = Mnist.Value;
        var loader = new BatchLoader<ImageBatch>(data.Count, 500, false, 3, ImageBatch.Collate(data));

        foreach (var batch in loader.Epoch(0).Take(3))
        {
            using (batch)
            {
                // Built on the worker: not in the consumer's scope, and a per-step scope leaves them alone.
                Assert.False(scope.Contains(batch.Images));
                using (NewDisposeScope())
                {
                    using var doubled = batch.Images * 2;
                    Assert.Equal(2 * batch.Images.sum().item<float>(), doubled.sum().item<float>(), 1);
                }
                Assert.False(batch.Images.IsInvalid);
            }
            Assert.True(batch.Images.IsInvalid && batch.Labels.IsInvalid);
        }
    }

    [Fact]
    public void Prefetched_tensors_the_consumer_never_sees_are_freed()
    {
        using var scope = NewDisposeScope();
        var data = Mnist.Value;
        var collate = ImageBatch.Collate(data);
        var made = new System.Collections.Concurrent.ConcurrentQueue<ImageBatch>();
        var loader = new BatchLoader<ImageBatch>(data.Count, 64, false, 3, idx =>
        {
            var batch = collate(idx);
            made.Enqueue(batch);
            return batch;
        }, prefetch: 3);

        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (made.Count < 4 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
                break;
            }
        }

        Assert.True(made.Count >= 4, $"only {made.Count} batches were prefetched");
        Assert.All(made, b => Assert.True(b.Images.IsInvalid && b.Labels.IsInvalid));
    }
}
