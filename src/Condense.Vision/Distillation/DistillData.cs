using System.Security.Cryptography;
using Condense.Core;
using Condense.Core.Data;
using Condense.Core.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Vision.Distillation;

/// <summary>
/// The labelled images a distillation run uses: a training split (distillation, kNN bank, probe training) and a
/// held-out split (kNN/probe queries, fidelity, PCA figure), each with a content key for the teacher cache.
/// </summary>
public sealed record DistillData(LabelledImages Train, LabelledImages Test, string TrainKey, string TestKey, string Source, int NumClasses)
{
    /// <summary>
    /// Fashion-MNIST: the full set from the Debian package when installed (train split from its 60k training
    /// images), otherwise the 10k test set shipped in assets/data/fashion-mnist, split into disjoint train and test parts.
    /// MNIST: the 10k test set in ../shared, split the same way.
    /// </summary>
    public static DistillData Load(DataRecipe recipe)
    {
        LabelledImages train, test;
        string source;
        switch (recipe.Dataset)
        {
            case "fashion-mnist" when File.Exists(Path.Combine(AssetPaths.FashionMnistDir(), "train-images-idx3-ubyte.gz")):
            {
                var dir = AssetPaths.FashionMnistDir();
                var full = LabelledImages.FromIdx(Path.Combine(dir, "train-images-idx3-ubyte.gz"), Path.Combine(dir, "train-labels-idx1-ubyte.gz"));
                var held = LabelledImages.FromIdx(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
                train = full.Slice(0, Require(recipe.TrainImages, full.Count, "data.train_images"));
                test = held.Slice(0, Require(recipe.TestImages, held.Count, "data.test_images"));
                source = $"Fashion-MNIST ({dir}): first {train.Count} training and first {test.Count} test images";
                break;
            }
            case "fashion-mnist":
            {
                var images = AssetPaths.Require("data/fashion-mnist/t10k-images-idx3-ubyte.gz");
                var dir = Path.GetDirectoryName(images)!;
                var all = LabelledImages.FromIdx(images, AssetPaths.Require("data/fashion-mnist/t10k-labels-idx1-ubyte.gz"));
                (train, test) = SplitHeldOut(all, recipe);
                source = $"Fashion-MNIST test set shipped in {dir} (full set not installed): {test.Count} held out, {train.Count} for training" +
                         (train.Count < recipe.TrainImages ? $" ({recipe.TrainImages} requested)" : "");
                break;
            }
            case "mnist":
            {
                var all = LabelledImages.FromIdx(AssetPaths.Require("data/images/mnist_t10k-images-idx3-ubyte.gz"),
                    AssetPaths.Require("data/images/mnist_t10k-labels-idx1-ubyte"));
                (train, test) = SplitHeldOut(all, recipe);
                source = $"MNIST test set (../shared): {test.Count} held out, {train.Count} for training" +
                         (train.Count < recipe.TrainImages ? $" ({recipe.TrainImages} requested)" : "");
                break;
            }
            default:
                throw new InputException($"data.dataset = {recipe.Dataset}: unknown dataset (fashion-mnist or mnist)");
        }
        return new DistillData(train, test, $"{recipe.Dataset}/train/{ContentHash(train)}", $"{recipe.Dataset}/test/{ContentHash(test)}", source, 10);
    }

    /// <summary>Images <paramref name="indices"/> of <paramref name="set"/> as (B, 3, size, size) RGB in [0, 1].</summary>
    /// <param name="size">Output side (bilinear resize), or null for the native resolution.</param>
    public static Tensor Images(LabelledImages set, int[] indices, int? size)
    {
        var im = set.Images;
        var pixels = new byte[indices.Length * im.ImageSize];
        for (int j = 0; j < indices.Length; j++)
            im.Image(indices[j]).CopyTo(pixels.AsSpan(j * im.ImageSize));
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(pixels, [indices.Length, im.Channels, im.Height, im.Width], ScalarType.Byte)
            .to_type(ScalarType.Float32).div_(255f);                                               // (B, C, H, W)
        if (im.Channels == 1) x = x.expand(-1, 3, -1, -1);                                         // (B, 3, H, W)
        if (size is int s && (s != im.Height || s != im.Width))
            x = nn.functional.interpolate(x, [s, s], mode: InterpolationMode.Bilinear, align_corners: false);
        return x.contiguous().MoveToOuterDisposeScope();
    }

    private static (LabelledImages Train, LabelledImages Test) SplitHeldOut(LabelledImages all, DataRecipe recipe)
    {
        if (recipe.TestImages >= all.Count)
            throw new InputException($"data.test_images = {recipe.TestImages}: only {all.Count} images are available");
        // Only one labelled set is available: hold out the test images first and train on (up to) the rest,
        // taken from the end, so the two never overlap; the default recipe asks for more than 9,000 training
        // images, which it gets when the full dataset is installed.
        int train = Math.Min(recipe.TrainImages, all.Count - recipe.TestImages);
        return (all.Slice(all.Count - train, train), all.Slice(0, recipe.TestImages));
    }

    private static int Require(int wanted, int available, string key) =>
        wanted <= available ? wanted : throw new InputException($"{key} = {wanted}: only {available} images are available");

    private static string ContentHash(LabelledImages set)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(set.Images.Pixels);
        sha.AppendData(BitConverter.GetBytes(set.Images.Height));
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
