// A block of u8 images in one flat array, N x C x H x W, each image stored CHW (the layout PyTorch expects).
// Keeping the pixels as bytes (not floats) makes the whole of MNIST 7.8 MB and CIFAR-10 150 MB in memory;
// conversion to float happens per batch in ImageBatch.
namespace Condense.Core.Data;

/// <summary>N images of C x H x W bytes; image i is <c>Pixels[i*C*H*W .. (i+1)*C*H*W)</c>, channel-major.</summary>
public sealed class ImageSet
{
    /// <summary>Number of images, N.</summary>
    public int Count { get; }

    /// <summary>Channels per image, C.</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels, H.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels, W.</summary>
    public int Width { get; }

    /// <summary>N*C*H*W bytes, CHW per image.</summary>
    public byte[] Pixels { get; }

    /// <summary>Bytes per image: C*H*W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>Wraps <paramref name="pixels"/> (not copied), which must hold exactly N*C*H*W bytes.</summary>
    public ImageSet(int count, int channels, int height, int width, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentNullException.ThrowIfNull(pixels);
        if ((long)count * channels * height * width != pixels.LongLength)
            throw new ArgumentException(
                $"pixels has {pixels.LongLength} bytes, expected {count}x{channels}x{height}x{width}", nameof(pixels));
        (Count, Channels, Height, Width, Pixels) = (count, channels, height, width, pixels);
    }

    /// <summary>The bytes of image <paramref name="index"/>, CHW.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * ImageSize, ImageSize);
    }
}
