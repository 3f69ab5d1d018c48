// CIFAR-10 readers on the shared 499-image subset of data_batch_1: the raw CHW/int64 pair directly, and the
// official binary-batch layout by writing the same images as 1+3072-byte records and reading them back.
using Condense.Core.Data;
using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Core.Tests.Data;

public class CifarFileTests
{
    private static readonly string RawImages =
        AssetPaths.Require("data/images/cifar10_batch1_first499_chw_u8.bin");
    private static readonly string RawLabels =
        AssetPaths.Require("data/images/cifar10_batch1_first499_labels_i64.bin");

    [Fact]
    public void Raw_subset_has_499_images_with_known_labels()
    {
        var data = CifarFile.ReadRaw(RawImages, RawLabels);

        Assert.Equal((499, 3, 32, 32), (data.Count, data.Images.Channels, data.Images.Height, data.Images.Width));
        Assert.Equal(6, data.Labels[0]);
        Assert.Equal("frog", CifarFile.ClassNames[(int)data.Labels[0]]);
        Assert.Equal(new long[] { 6, 9, 9, 4, 1, 1, 2, 7, 8, 3 }, data.Labels[..10]);
        int[] perClass = [51, 65, 43, 47, 50, 40, 53, 49, 45, 56];
        Assert.Equal(perClass, Enumerable.Range(0, 10).Select(c => data.Labels.Count(l => l == c)));
        var first = data.Images.Image(0).ToArray();
        Assert.Equal(317790, first.Sum(b => b));
        Assert.Equal(new byte[] { 59, 43, 50, 68 }, first[..4]);
    }

    [Fact]
    public void Binary_batch_round_trips_the_raw_subset()
    {
        var raw = CifarFile.ReadRaw(RawImages, RawLabels);
        using var tmp = new TempFolder();
        var path = tmp.Write("data_batch_1.bin", ToBatchFormat(raw));

        var batch = CifarFile.ReadBatch(path);

        Assert.Equal(raw.Labels, batch.Labels);
        Assert.Equal(raw.Images.Pixels, batch.Images.Pixels);
        Assert.Equal((3, 32, 32), (batch.Images.Channels, batch.Images.Height, batch.Images.Width));
    }

    [Fact]
    public void Binary_batch_with_a_partial_record_is_truncated()
    {
        var raw = CifarFile.ReadRaw(RawImages, RawLabels);
        using var tmp = new TempFolder();
        var path = tmp.Write("data_batch_1.bin", ToBatchFormat(raw)[..^1]);

        Expect.BadInput(path, "not a whole number of CIFAR-10 records", () => CifarFile.ReadBatch(path));
    }

    [Fact]
    public void Binary_batch_label_out_of_range_is_rejected()
    {
        var raw = CifarFile.ReadRaw(RawImages, RawLabels);
        var bytes = ToBatchFormat(raw);
        bytes[2 * CifarFile.RecordBytes] = 10;
        using var tmp = new TempFolder();
        var path = tmp.Write("data_batch_1.bin", bytes);

        Expect.BadInput(path, "label 10 at index 2 is outside 0..9", () => CifarFile.ReadBatch(path));
    }

    [Fact]
    public void Raw_images_not_a_whole_number_of_images()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("images.bin", File.ReadAllBytes(RawImages)[..^100]);

        Expect.BadInput(path, "not a whole number of 3x32x32 images", () => CifarFile.ReadRaw(path, RawLabels));
    }

    [Fact]
    public void Raw_label_count_must_match_image_count()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("labels.bin", File.ReadAllBytes(RawLabels)[..^8]);

        Expect.BadInput(path, $"498 labels but {RawImages} has 499 images", () => CifarFile.ReadRaw(RawImages, path));
    }

    [Fact]
    public void Raw_labels_with_a_partial_int64_are_rejected()
    {
        using var tmp = new TempFolder();
        var path = tmp.Write("labels.bin", File.ReadAllBytes(RawLabels)[..^3]);

        Expect.BadInput(path, "not a whole number of int64 labels", () => CifarFile.ReadRaw(RawImages, path));
    }

    // The official layout: per image one label byte then R, G, B planes of 32x32 bytes.
    private static byte[] ToBatchFormat(LabelledImages data)
    {
        var bytes = new byte[data.Count * CifarFile.RecordBytes];
        for (var i = 0; i < data.Count; i++)
        {
            bytes[i * CifarFile.RecordBytes] = checked((byte)data.Labels[i]);
            data.Images.Image(i).CopyTo(bytes.AsSpan(i * CifarFile.RecordBytes + 1));
        }
        return bytes;
    }
}
