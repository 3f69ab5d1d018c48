// Real inputs for tests, from the shared folder: the 499 CIFAR-10 training images with labels and
// the two photos (kitten.png is a JPEG despite its name; both decode by content).
using Condense.Core.Data;
using Condense.Core.IO;
using static TorchSharp.torch;

namespace Condense.Testing;

public static class SharedImages
{
    /// <summary>(499, 3, 32, 32) float32 in [0, 1] and (499) int64 labels.</summary>
    public static (Tensor Images, Tensor Labels) Cifar499()
    {
        var data = CifarFile.ReadRaw(
            AssetPaths.Require("data/images/cifar10_batch1_first499_chw_u8.bin"),
            AssetPaths.Require("data/images/cifar10_batch1_first499_labels_i64.bin"));
        var images = tensor(data.Images.Pixels, [data.Count, 3, 32, 32]).to_type(ScalarType.Float32) / 255f;
        return (images, tensor(data.Labels));
    }

    /// <summary>One photo from shared/data/images as (1, 3, side, side) float32 in [0, 1].</summary>
    public static Tensor Photo(string file, int side)
    {
        var chw = new byte[3 * side * side];
        ImageFolder.DecodeRgbChw(AssetPaths.Require($"data/images/{file}"), side, side, chw);
        return tensor(chw, [1, 3, side, side]).to_type(ScalarType.Float32) / 255f;
    }
}
