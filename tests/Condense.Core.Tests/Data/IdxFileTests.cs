// IDX reader on the real MNIST test set (gzip images, plain labels) and the Debian Fashion-MNIST package,
// plus corrupt copies of them.
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Core.Tests.Data;

public class IdxFileTests
{
    private static string Mnist(string name) => AssetPaths.Require($"data/images/{name}");
    private static string Fashion(string name) => Path.Combine(AssetPaths.FashionMnistSystemDir, name);

    private static readonly string MnistImages = Mnist("mnist_t10k-images-idx3-ubyte.gz");
    private static readonly string MnistLabels = Mnist("mnist_t10k-labels-idx1-ubyte");

    [Fact]
    public void Mnist_test_set_has_10000_known_images_and_labels()
    {
        var data = LabelledImages.FromIdx(MnistImages, MnistLabels);

        Assert.Equal((10000, 1, 28, 28), (data.Count, data.Images.Channels, data.Images.Height, data.Images.Width));
        Assert.Equal(new long[] { 7, 2, 1, 0, 4, 1, 4, 9, 5, 9 }, data.Labels[..10]);
        int[] perClass = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
        Assert.Equal(perClass, Enumerable.Range(0, 10).Select(c => data.Labels.Count(l => l == c)));
        // Reference sums computed with Python's gzip module on the same file.
        Assert.Equal(18454, Sum(data.Images.Image(0)));
        Assert.Equal(264_923_200L, data.Images.Pixels.Sum(p => (long)p));
    }

    [Fact]
    public void Fashion_mnist_test_set_is_balanced()
    {
        var data = LabelledImages.FromIdx(Fashion("t10k-images-idx3-ubyte.gz"), Fashion("t10k-labels-idx1-ubyte.gz"));

        Assert.Equal(10000, data.Count);
        Assert.Equal((28, 28), (data.Images.Height, data.Images.Width));
        Assert.Equal(new long[] { 9, 2, 1, 1, 6, 1, 4, 6 }, data.Labels[..8]);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, data.Labels.Count(l => l == c)));
        Assert.Equal(33456, Sum(data.Images.Image(0)));
    }

    [Fact]
    public void Fashion_mnist_train_set_has_60000_images_6000_per_class()
    {
        var data = LabelledImages.FromIdx(Fashion("train-images-idx3-ubyte.gz"), Fashion("train-labels-idx1-ubyte.gz"));

        Assert.Equal(60000, data.Count);
        Assert.Equal(60000L * 28 * 28, data.Images.Pixels.LongLength);
        Assert.All(data.Labels, l => Assert.InRange(l, 0, 9));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, data.Labels.Count(l => l == c)));
        Assert.Equal(76247, Sum(data.Images.Image(0)));
    }

    [Fact]
    public void Gzip_is_detected_by_content_not_extension()
    {
        using var tmp = new TempFolder();
        var renamed = tmp.Write("images-no-extension", File.ReadAllBytes(MnistImages));

        var images = IdxFile.ReadImages(renamed);

        Assert.Equal(IdxFile.ReadImages(MnistImages).Pixels, images.Pixels);
    }

    [Fact]
    public void Labels_file_read_as_images_fails_on_magic()
    {
        Expect.BadInput(MnistLabels, "bad IDX magic 0x00000801, expected 0x00000803",
            () => IdxFile.ReadImages(MnistLabels));
    }

    [Fact]
    public void Truncated_labels_fail_on_length()
    {
        using var tmp = new TempFolder();
        var bytes = File.ReadAllBytes(MnistLabels);
        var path = tmp.Write("labels", bytes[..^10]);

        Expect.BadInput(path, "IDX data is 9990 bytes, header 10000 needs 10000 (truncated)",
            () => IdxFile.ReadLabels(path));
    }

    [Fact]
    public void Trailing_bytes_fail_on_length()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("labels", [.. File.ReadAllBytes(MnistLabels), 0]);

        Expect.BadInput(path, "(trailing bytes)", () => IdxFile.ReadLabels(path));
    }

    [Fact]
    public void Truncated_gzip_fails_naming_the_file()
    {
        using var tmp = new TempFolder();
        var bytes = File.ReadAllBytes(MnistImages);
        var path = tmp.Write("images.gz", bytes[..(bytes.Length / 2)]);

        // Depending on where the cut lands the inflater reports a corrupt stream or the data comes up short.
        var ex = Assert.Throws<InputException>(() => IdxFile.ReadImages(path));
        Assert.StartsWith(path + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_only_file_is_truncated()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("images", File.ReadAllBytes(MnistLabels)[..2]);

        Expect.BadInput(path, "truncated IDX file", () => IdxFile.ReadImages(path));
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        var trainLabels = Fashion("train-labels-idx1-ubyte.gz");

        Expect.BadInput(trainLabels, $"60000 labels but {MnistImages} has 10000 images",
            () => LabelledImages.FromIdx(MnistImages, trainLabels));
    }

    [Fact]
    public void Missing_file_is_bad_input()
    {
        using var tmp = new TempFolder();
        var path = tmp.File("absent.gz");

        Expect.BadInput(path, "file not found", () => IdxFile.ReadLabels(path));
    }

    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        var sum = 0;
        foreach (var b in bytes) sum += b;
        return sum;
    }
}
