// CIFAR-10 readers for the two layouts we meet:
//  * raw: a u8 file of N x 3x32x32 CHW images plus an int64 little-endian label file (the shared test subset);
//  * binary batch: the official "CIFAR-10 binary version" data_batch_k.bin, records of 1 label byte + 3072
//    pixel bytes (1024 R, 1024 G, 1024 B, each row-major 32x32), i.e. already CHW.
using System.Buffers.Binary;

namespace Condense.Core.Data;

/// <summary>Readers for CIFAR-10 images and labels, in the raw u8/int64 layout or the official binary batches.</summary>
public static class CifarFile
{
    /// <summary>Colour channels per image (RGB).</summary>
    public const int Channels = 3;

    /// <summary>Image height and width in pixels.</summary>
    public const int Side = 32;

    /// <summary>Bytes in one CHW u8 image (3 x 32 x 32 = 3072).</summary>
    public const int ImageBytes = Channels * Side * Side;

    /// <summary>Bytes in one binary-batch record: a label byte followed by the image.</summary>
    public const int RecordBytes = 1 + ImageBytes;

    /// <summary>Number of CIFAR-10 classes; labels are 0..9.</summary>
    public const int Classes = 10;

    /// <summary>The CIFAR-10 class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Reads the raw pair: N*3072 u8 image bytes (N from the size) and N int64 LE labels.</summary>
    public static LabelledImages ReadRaw(string imagesPath, string labelsPath)
    {
        var pixels = DataFile.ReadBytes(imagesPath);
        if (pixels.Length % ImageBytes != 0)
            throw new InputException(
                $"{imagesPath}: {pixels.Length} bytes is not a whole number of 3x32x32 images " +
                $"({ImageBytes} bytes each)");
        var count = pixels.Length / ImageBytes;

        var raw = DataFile.ReadBytes(labelsPath);
        if (raw.Length % sizeof(long) != 0)
            throw new InputException($"{labelsPath}: {raw.Length} bytes is not a whole number of int64 labels");
        var labels = new long[raw.Length / sizeof(long)];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan(i * sizeof(long)));
        if (labels.Length != count)
            throw new InputException($"{labelsPath}: {labels.Length} labels but {imagesPath} has {count} images");
        CheckLabels(labelsPath, labels);
        return new LabelledImages(new ImageSet(count, Channels, Side, Side, pixels), labels);
    }

    /// <summary>Reads one official CIFAR-10 binary batch (data_batch_1.bin ... test_batch.bin).</summary>
    public static LabelledImages ReadBatch(string path)
    {
        var bytes = DataFile.ReadBytes(path);
        if (bytes.Length % RecordBytes != 0)
            throw new InputException(
                $"{path}: {bytes.Length} bytes is not a whole number of CIFAR-10 records ({RecordBytes} bytes each)");
        var count = bytes.Length / RecordBytes;
        var pixels = new byte[count * ImageBytes];
        var labels = new long[count];
        for (var i = 0; i < count; i++)
        {
            var record = bytes.AsSpan(i * RecordBytes, RecordBytes);
            labels[i] = record[0];
            record[1..].CopyTo(pixels.AsSpan(i * ImageBytes));
        }
        CheckLabels(path, labels);
        return new LabelledImages(new ImageSet(count, Channels, Side, Side, pixels), labels);
    }

    // A label outside 0..9 means the file is not CIFAR-10 (or is misaligned), so fail at load, not in the loss.
    private static void CheckLabels(string path, long[] labels)
    {
        for (var i = 0; i < labels.Length; i++)
            if (labels[i] is < 0 or >= Classes)
                throw new InputException($"{path}: label {labels[i]} at index {i} is outside 0..{Classes - 1}");
    }
}
