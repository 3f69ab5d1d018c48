// An image set with one int64 class label per image: what every image classification reader returns and what
// ImageBatch.Collate turns into tensors.
namespace Condense.Core.Data;

/// <summary>Images and their labels (int64, like PyTorch's class targets); the counts always match.</summary>
public sealed record LabelledImages
{
    /// <summary>The images.</summary>
    public ImageSet Images { get; }

    /// <summary>The class label of each image, in image order.</summary>
    public long[] Labels { get; }

    /// <summary>Number of images (and labels).</summary>
    public int Count => Images.Count;

    /// <summary>Pairs the images with their labels (neither copied); the counts must match.</summary>
    public LabelledImages(ImageSet images, long[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Count != labels.Length)
            throw new ArgumentException($"{images.Count} images but {labels.Length} labels", nameof(labels));
        (Images, Labels) = (images, labels);
    }

    /// <summary>Images [start, start + count) as a new set (pixels copied).</summary>
    public LabelledImages Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, Count);
        var im = Images;
        var pixels = new byte[count * im.ImageSize];
        Array.Copy(im.Pixels, (long)start * im.ImageSize, pixels, 0, pixels.Length);
        return new LabelledImages(new ImageSet(count, im.Channels, im.Height, im.Width, pixels), Labels[start..(start + count)]);
    }

    /// <summary>MNIST-style pair of IDX files (plain or gzip); the file-level checks name the offending file.</summary>
    public static LabelledImages FromIdx(string imagesPath, string labelsPath)
    {
        var images = IdxFile.ReadImages(imagesPath);
        var labels = IdxFile.ReadLabels(labelsPath);
        if (images.Count != labels.Length)
            throw new InputException(
                $"{labelsPath}: {labels.Length} labels but {imagesPath} has {images.Count} images");
        return new LabelledImages(images, labels);
    }
}
