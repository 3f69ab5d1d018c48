// The one input convention of every teacher (see ITeacher): RGB float32 images in [0, 1] as (B, 3, H, W), any
// size. Each teacher resizes them to its square input size here, bilinearly (half-pixel centres, like PyTorch's
// align_corners=False and TF2's tf.image.resize) with antialiasing when shrinking, so a large photo is
// averaged rather than aliased; an image already at the target size is passed through untouched.
using static TorchSharp.torch;

namespace Condense.Vision.Teachers;

/// <summary>The teachers' input convention: checks and resizing of (B, 3, H, W) RGB images in [0, 1].</summary>
public static class TeacherImages
{
    /// <summary>Checks the (B, 3, H, W) float32 contract; throws <see cref="ArgumentException"/> otherwise.</summary>
    public static void Check(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[0] == 0)
            throw new ArgumentException(
                $"teacher input must be (B, 3, H, W) with B > 0, got [{string.Join(", ", images.shape)}]",
                nameof(images));
        if (images.dtype != ScalarType.Float32)
            throw new ArgumentException($"teacher input must be float32, got {images.dtype}", nameof(images));
    }

    /// <summary>(B, 3, H, W) -> (B, 3, size, size), bilinear; the same tensor when already that size.</summary>
    public static Tensor Resize(Tensor images, int size)
    {
        Check(images);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (images.shape[2] == size && images.shape[3] == size) return images;
        var shrinking = images.shape[2] > size || images.shape[3] > size;
        return nn.functional.interpolate(images, [size, size], mode: InterpolationMode.Bilinear,
            align_corners: false, antialias: shrinking);
    }
}
