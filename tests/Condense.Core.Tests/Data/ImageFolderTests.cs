// ImageFolder on the two shared photos, copied into a temporary class-per-subfolder tree. fish.png is a plain
// 224x224 RGB PNG (reference pixels decoded independently with Python's zlib); kitten.png is really a JPEG,
// which exercises decoding by content.
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Core.Tests.Data;

public class ImageFolderTests
{
    private static readonly string Kitten = AssetPaths.Require("data/images/kitten.png");
    private static readonly string Fish = AssetPaths.Require("data/images/fish.png");

    private static TempFolder Tree()
    {
        var tmp = new TempFolder();
        // "Kitten" sorts before "fish" ordinally (uppercase first) but after it in a culture-aware sort.
        tmp.Write("Kitten/kitten.png", File.ReadAllBytes(Kitten));
        tmp.Write("fish/fish.png", File.ReadAllBytes(Fish));
        tmp.Write("fish/notes.txt", "not an image"u8.ToArray());
        return tmp;
    }

    [Fact]
    public void Classes_are_sorted_ordinal_and_non_images_ignored()
    {
        using var tmp = Tree();

        var folder = ImageFolder.Load(tmp.Path, 32, 24);

        Assert.Equal(["Kitten", "fish"], folder.Classes);
        Assert.Equal([tmp.File("Kitten/kitten.png"), tmp.File("fish/fish.png")], folder.Files);
        Assert.Equal(new long[] { 0, 1 }, folder.Data.Labels);
        var images = folder.Data.Images;
        Assert.Equal((2, 3, 24, 32), (images.Count, images.Channels, images.Height, images.Width));
    }

    [Fact]
    public void Png_pixels_land_in_chw_order_at_native_size()
    {
        using var tmp = Tree();

        var fish = ImageFolder.Load(tmp.Path, 224, 224).Data.Images.Image(1);

        const int plane = 224 * 224;
        Assert.Equal((63, 82, 60), Rgb(fish, plane, 0));
        Assert.Equal((93, 145, 47), Rgb(fish, plane, 50 * 224 + 100));
        Assert.Equal((29, 63, 13), Rgb(fish, plane, 223 * 224 + 223));
    }

    [Fact]
    public void Downscaling_keeps_channel_means()
    {
        using var tmp = Tree();

        var fish = ImageFolder.Load(tmp.Path, 56, 56).Data.Images.Image(1);

        // Full-resolution channel means from the independent decode; an antialiased 4x downscale keeps them.
        double[] means = [80.893, 109.907, 58.556];
        const int plane = 56 * 56;
        for (var c = 0; c < 3; c++)
        {
            var mean = 0.0;
            foreach (var p in fish.Slice(c * plane, plane)) mean += p;
            Assert.InRange(mean / plane, means[c] - 1.5, means[c] + 1.5);
        }
    }

    [Fact]
    public void Jpeg_content_decodes_to_a_real_photo()
    {
        using var tmp = Tree();

        var kitten = ImageFolder.Load(tmp.Path, 64, 36).Data.Images.Image(0).ToArray();

        // A photo: not blank, and many distinct values in every channel.
        const int plane = 64 * 36;
        for (var c = 0; c < 3; c++)
            Assert.True(kitten.Skip(c * plane).Take(plane).Distinct().Count() > 50, $"channel {c} looks flat");
    }

    [Fact]
    public void Unreadable_image_names_the_file()
    {
        using var tmp = Tree();
        var broken = tmp.Write("fish/broken.png", File.ReadAllBytes(Fish)[..16]);

        Expect.BadInput(broken, "not a readable image", () => ImageFolder.Load(tmp.Path, 32, 32));
    }

    [Fact]
    public void Truncated_image_is_not_silently_padded()
    {
        using var tmp = Tree();
        var cut = tmp.Write("fish/cut.png", File.ReadAllBytes(Fish)[..20000]);

        Expect.BadInput(cut, "image decode failed (IncompleteInput)", () => ImageFolder.Load(tmp.Path, 32, 32));
    }

    [Fact]
    public void Class_without_images_is_rejected()
    {
        using var tmp = Tree();
        Directory.CreateDirectory(tmp.File("empty"));

        Expect.BadInput(tmp.File("empty"), "class folder has no images", () => ImageFolder.Load(tmp.Path, 32, 32));
    }

    [Fact]
    public void Missing_root_is_rejected()
    {
        using var tmp = new TempFolder();
        var root = tmp.File("nothing-here");

        Expect.BadInput(root, "image folder not found", () => ImageFolder.Load(root, 32, 32));
    }

    private static (int, int, int) Rgb(ReadOnlySpan<byte> chw, int plane, int offset) =>
        (chw[offset], chw[plane + offset], chw[2 * plane + offset]);
}
