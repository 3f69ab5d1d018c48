// A batch of labelled images as tensors, and the collate that builds it for BatchLoader. The float conversion
// and normalisation are done in managed code into one float[] and become a tensor in a single call, so the
// collate creates exactly two tensors and no temporaries: nothing is left for the GC to finalise on the worker
// thread (which has no DisposeScope; see BatchLoader for who owns the batch).
using static TorchSharp.torch;

namespace Condense.Core.Data;

/// <summary>Images (B, C, H, W) float32 and labels (B) int64; dispose it when the step is done.</summary>
public sealed class ImageBatch : IDisposable
{
    /// <summary>The images, (B, C, H, W) float32.</summary>
    public Tensor Images { get; }

    /// <summary>The class labels, (B) int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Wraps the two tensors; the batch takes ownership of them.</summary>
    public ImageBatch(Tensor images, Tensor labels) => (Images, Labels) = (images, labels);

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }

    /// <summary>
    /// A collate for <see cref="BatchLoader{TBatch}"/>: pixels scaled to [0, 1], then, when
    /// <paramref name="mean"/> and <paramref name="std"/> are given (one value per channel), (x - mean) / std.
    /// </summary>
    public static Func<int[], ImageBatch> Collate(LabelledImages data, float[]? mean = null, float[]? std = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var set = data.Images;
        if ((mean is null) != (std is null)) throw new ArgumentException("give both mean and std, or neither");
        if (mean is not null && (mean.Length != set.Channels || std!.Length != set.Channels))
            throw new ArgumentException($"mean and std need {set.Channels} values (one per channel)");
        if (std is not null && std.Any(s => !(s > 0))) throw new ArgumentException("std must be positive");

        // Per-channel affine map from a byte: x / 255 * scale + shift.
        var scale = new float[set.Channels];
        var shift = new float[set.Channels];
        for (var c = 0; c < set.Channels; c++)
        {
            scale[c] = std is null ? 1f : 1f / std[c];
            shift[c] = mean is null ? 0f : -mean[c] / std![c];
        }

        return indices =>
        {
            var plane = set.Height * set.Width;
            var images = new float[indices.Length * set.ImageSize];
            var labels = new long[indices.Length];
            for (var b = 0; b < indices.Length; b++)
            {
                var src = set.Image(indices[b]);
                var dst = images.AsSpan(b * set.ImageSize, set.ImageSize);
                for (var c = 0; c < set.Channels; c++)
                    for (var i = c * plane; i < (c + 1) * plane; i++)
                        dst[i] = src[i] / 255f * scale[c] + shift[c];
                labels[b] = data.Labels[indices[b]];
            }
            return new ImageBatch(
                tensor(images, [indices.Length, set.Channels, set.Height, set.Width]),
                tensor(labels, [indices.Length]));
        };
    }
}
